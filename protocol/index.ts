/**
 * Driftline's wire format: errors, hashing, limits, sketches and zod schemas. The browser
 * runtime should import `protocol/sketch/index.ts`, `errors.ts` and `hash.ts` directly to stay
 * free of zod.
 */
export * from "./errors.ts";
export * from "./hash.ts";
export * from "./limits.ts";
export * from "./sketch/index.ts";
export * from "./schema/index.ts";
