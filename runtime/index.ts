/**
 * Driftline's browser runtime: `createRuntime()` and its types, and `DriftlineError`.
 * Nothing else is public.
 */
export { DriftlineError } from "../protocol/errors.ts";
export type { ErrorCode } from "../protocol/errors.ts";
