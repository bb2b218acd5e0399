import { Hono } from "hono";
import { z } from "zod";
import { requireRole } from "../auth.ts";
import { openDb } from "../db/client.ts";
import { appsUsingArtifact } from "../db/versions.ts";
import type { AppEnv } from "../env.ts";
import { ApiError, errorBody } from "../errors.ts";
import { matchesEtag, parseRange } from "../http/range.ts";
import { limitIngestKey } from "../http/rate-limit.ts";
import { validate } from "../validate.ts";

/** Artifact size limit when `MAX_ARTIFACT_BYTES` is unset or not a positive integer: 100 MiB. */
export const DEFAULT_MAX_ARTIFACT_BYTES = 100 * 1024 * 1024;

const IMMUTABLE = "public, max-age=31536000, immutable";

const shaParamSchema = z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/, "sha256 must be 64 lowercase hex characters") });

/**
 * The artifact size limit of this deployment.
 *
 * @param env - the Worker's bindings
 */
export function maxArtifactBytes(env: Pick<Env, "MAX_ARTIFACT_BYTES">): number {
  const limit = Number(env.MAX_ARTIFACT_BYTES);
  return Number.isSafeInteger(limit) && limit > 0 ? limit : DEFAULT_MAX_ARTIFACT_BYTES;
}

function declaredLength(header: string | undefined, limit: number): number {
  if (header === undefined) throw new ApiError(411, "validation", "Content-Length is required: send the artifact as a plain body of known length");
  if (!/^\d{1,16}$/.test(header)) throw new ApiError(400, "validation", `Content-Length "${header}" is not a byte count`);
  const length = Number(header);
  if (length > limit) throw new ApiError(413, "payload_too_large", `artifact of ${length} bytes is over the limit of ${limit} bytes`);
  if (length === 0) throw new ApiError(400, "validation", "artifact is empty");
  return length;
}

function isChecksumMismatch(err: unknown): boolean {
  return err instanceof Error && /checksum|\(10037\)/i.test(err.message);
}

/**
 * `/v1/artifacts/:sha256`: model bytes in R2, stored under their SHA-256.
 * PUT (admin) streams the body into R2 with the hash as a checksum, so R2 itself refuses a
 * body whose hash differs (400 `hash_mismatch`) and nothing unverified is ever stored.
 * GET (ingest; only artifacts of the caller's app's models) serves them immutable, with ETag,
 * If-None-Match (304) and single byte ranges (206) for resumed downloads.
 */
export const artifacts = new Hono<AppEnv>()
  .put("/:sha256", requireRole("admin"), validate("param", shaParamSchema), async (c) => {
    const { sha256 } = c.req.valid("param");
    const length = declaredLength(c.req.header("Content-Length"), maxArtifactBytes(c.env));
    const existing = await c.env.ARTIFACTS.head(sha256);
    if (existing) return c.json({ sha256, size: existing.size, created: false }, 200);
    const body = c.req.raw.body;
    if (!body) throw new ApiError(400, "validation", "artifact is empty");
    try {
      const stored = await c.env.ARTIFACTS.put(sha256, body, {
        sha256,
        httpMetadata: { contentType: "application/octet-stream", cacheControl: IMMUTABLE },
      });
      return c.json({ sha256, size: stored?.size ?? length, created: true }, 201);
    } catch (err) {
      if (isChecksumMismatch(err)) throw new ApiError(400, "hash_mismatch", `the body's SHA-256 is not ${sha256}`);
      throw err;
    }
  })
  .get("/:sha256", requireRole("ingest"), limitIngestKey, validate("param", shaParamSchema), async (c) => {
    const { sha256 } = c.req.valid("param");
    const caller = c.var.caller;
    if (!caller.bootstrap) {
      const apps = await appsUsingArtifact(openDb(c.env), sha256);
      if (apps.length === 0) throw new ApiError(404, "not_found", `no artifact ${sha256}`);
      if (!apps.includes(caller.app!)) throw new ApiError(403, "forbidden", `artifact ${sha256} belongs to another app`);
    }
    const etag = `"${sha256}"`;
    const headers = { ETag: etag, "Cache-Control": IMMUTABLE, "Accept-Ranges": "bytes" };
    const head = await c.env.ARTIFACTS.head(sha256);
    if (!head) throw new ApiError(404, "not_found", `no artifact ${sha256}`);
    if (matchesEtag(c.req.header("If-None-Match"), etag)) return c.body(null, 304, headers);
    const range = parseRange(c.req.header("Range"), head.size);
    if (range === "unsatisfiable") {
      return c.json(errorBody("validation", `range outside the artifact's ${head.size} bytes`), 416, { "Content-Range": `bytes */${head.size}` });
    }
    const object = await c.env.ARTIFACTS.get(sha256, range ? { range } : {});
    if (!object) throw new ApiError(404, "not_found", `no artifact ${sha256}`);
    const common = { ...headers, "Content-Type": "application/octet-stream", "X-Content-Type-Options": "nosniff" };
    if (range) {
      const end = range.offset + range.length - 1;
      return c.body(object.body, 206, { ...common, "Content-Length": String(range.length), "Content-Range": `bytes ${range.offset}-${end}/${head.size}` });
    }
    return c.body(object.body, 200, { ...common, "Content-Length": String(head.size) });
  });
