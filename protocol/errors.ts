/**
 * Every error code any Driftline part throws or answers with, declared once.
 *
 * @example
 * if (err instanceof DriftlineError && err.code === "integrity") retryDownload();
 */
export const ERROR_CODES = [
  // input checks
  "validation",
  "unknown_feature",
  "limit_exceeded",
  "payload_too_large",
  // sketches and wire bytes
  "decode",
  "sketch_mismatch",
  // model delivery and execution
  "download",
  "integrity",
  "hash_mismatch",
  "session",
  "backend",
  // transport
  "network",
  "rate_limited",
  "unavailable",
  // collector answers
  "unauthorized",
  "forbidden",
  "not_found",
  "conflict",
  "method_not_allowed",
  "unsupported",
  // a report of a version the rollout did not give its client (now or within the grace period)
  "not_assigned",
  // lifecycle and fallback
  "closed",
  // rows a client predicted but whose report it had to drop (a bounded queue; counted in `errors`)
  "dropped",
  "internal",
] as const;

/** One of {@link ERROR_CODES}. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * The one error class of Driftline: a stable string `code`, a readable message, and the
 * underlying `cause` when there is one.
 *
 * @example
 * throw new DriftlineError("decode", "sketch truncated at byte 12");
 */
export class DriftlineError extends Error {
  /** The stable code to branch on. */
  readonly code: ErrorCode;

  /**
   * @param code - the stable code
   * @param message - what happened, for people
   * @param cause - the error that led here, if any
   */
  constructor(code: ErrorCode, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "DriftlineError";
    this.code = code;
  }
}

/**
 * Whether `value` is a {@link DriftlineError}, also across bundles (where `instanceof` fails
 * because each bundle has its own class).
 *
 * @param value - anything caught
 */
export function isDriftlineError(value: unknown): value is DriftlineError {
  return value instanceof DriftlineError || (value instanceof Error && value.name === "DriftlineError" && typeof (value as { code?: unknown }).code === "string");
}
