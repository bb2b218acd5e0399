/** Wire schemas (zod) with their inferred types, and parse helpers that throw coded errors. */
export * from "./common.ts";
export * from "./profile.ts";
export * from "./manifest.ts";
export * from "./report.ts";
export * from "./assignment.ts";
export * from "./prediction-log.ts";
export * from "./alert-config.ts";
export * from "./error-envelope.ts";
export * from "./parse.ts";
