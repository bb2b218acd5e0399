import type { z } from "zod";
import { DriftlineError } from "../errors.ts";
import { assignmentSchema, type Assignment } from "./assignment.ts";
import { errorEnvelopeSchema, type ErrorEnvelope } from "./error-envelope.ts";
import { manifestSchema, type Manifest } from "./manifest.ts";
import { referenceProfileSchema, type ReferenceProfile } from "./profile.ts";
import { reportBatchSchema, type ReportBatch } from "./report.ts";

/**
 * Parses `input` with `schema`; failure throws DriftlineError `limit_exceeded` (a size limit
 * was passed) or `validation`, naming the path of the first problem.
 *
 * @param schema - a zod schema
 * @param input - untrusted data
 * @param what - what is parsed, for the message
 * @example
 * const m = parse(manifestSchema, json, "manifest");
 */
export function parse<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues;
  const limit = issues.find((i) => i.code === "too_big" && i.origin !== "number" && i.origin !== "int");
  const issue = limit ?? issues[0]!;
  const path = issue.path.map(String).join(".") || "(root)";
  throw new DriftlineError(limit ? "limit_exceeded" : "validation", `${what}: ${path}: ${issue.message}`, result.error);
}

/**
 * JSON.parse of text no larger than `maxBytes` (UTF-8); over it throws `payload_too_large`,
 * invalid JSON `validation`.
 *
 * @param text - the body
 * @param maxBytes - largest accepted size
 */
export function parseJson(text: string, maxBytes: number): unknown {
  // length ≤ bytes ≤ 3 × length, so the exact count is only needed in between
  if (text.length > maxBytes || (text.length * 3 > maxBytes && new TextEncoder().encode(text).length > maxBytes)) {
    throw new DriftlineError("payload_too_large", `body over ${maxBytes} bytes`);
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new DriftlineError("validation", "body is not valid JSON", cause);
  }
}

/**
 * A valid manifest, or a coded DriftlineError.
 *
 * @param input - untrusted data
 */
export const parseManifest = (input: unknown): Manifest => parse(manifestSchema, input, "manifest");

/**
 * A valid reference profile, or a coded DriftlineError.
 *
 * @param input - untrusted data
 */
export const parseReferenceProfile = (input: unknown): ReferenceProfile => parse(referenceProfileSchema, input, "profile");

/**
 * A valid report batch, or a coded DriftlineError.
 *
 * @param input - untrusted data
 */
export const parseReportBatch = (input: unknown): ReportBatch => parse(reportBatchSchema, input, "reports");

/**
 * A valid assignment, or a coded DriftlineError.
 *
 * @param input - untrusted data
 */
export const parseAssignment = (input: unknown): Assignment => parse(assignmentSchema, input, "assignment");

/**
 * A valid error envelope, or a coded DriftlineError.
 *
 * @param input - untrusted data
 */
export const parseErrorEnvelope = (input: unknown): ErrorEnvelope => parse(errorEnvelopeSchema, input, "error");
