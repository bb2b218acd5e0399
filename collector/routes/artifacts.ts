import { Hono } from "hono";
import { z } from "zod";
import { toHex } from "../../protocol/hash.ts";
import { appQuerySchema } from "../api-schemas.ts";
import { assertApp, requireRole } from "../auth.ts";
import { maxArtifactBytes } from "../config.ts";
import { appMayUseArtifact, recordUpload } from "../db/artifacts.ts";
import { openDb } from "../db/client.ts";
import type { AppEnv, Caller } from "../env.ts";
import { ApiError, errorBody } from "../errors.ts";
import { matchesEtag, parseRange } from "../http/range.ts";
import { limitIngestKey } from "../http/rate-limit.ts";
import { validate } from "../validate.ts";
import { documented } from "../openapi.ts";

/** The answer of an upload. */
const uploadSchema = z.object({ sha256: z.string(), size: z.number(), created: z.boolean() });

const IMMUTABLE = "public, max-age=31536000, immutable";

const shaParamSchema = z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/, "sha256 must be 64 lowercase hex characters") });

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

/** SHA-256 of a streamed body, as hex, without holding it in memory. */
async function streamedSha256(body: ReadableStream<Uint8Array>): Promise<string> {
  const digest = new crypto.DigestStream("SHA-256");
  await body.pipeTo(digest);
  return toHex(await digest.digest);
}

/** The app an upload is recorded for: the key's own, or for the bootstrap key `?app=` (or none). */
function uploaderApp(caller: Caller, app: string | undefined): string | undefined {
  if (app !== undefined) assertApp(caller, app);
  return caller.bootstrap ? app : caller.app!;
}

/**
 * `/v1/artifacts/:sha256`: model bytes in R2, stored under their SHA-256, and which app uploaded
 * them. PUT (admin) streams the body into R2 with the hash as a checksum, so R2 itself refuses a
 * body whose hash differs (400 `hash_mismatch`) and nothing unverified is stored; when the bytes
 * are there already (another app's upload), the body is hashed and must match all the same
 * before the upload counts for the caller's app (200). GET (ingest) serves an artifact only to
 * keys of an app that uploaded it or has a version with it (any other is the 404 of a missing
 * one), immutable, with ETag, If-None-Match (304) and single byte ranges (206).
 */
export const artifacts = new Hono<AppEnv>()
  .put(
    "/:sha256",
    documented(
      "Uploads model bytes under their SHA-256",
      { 200: { description: "already stored", schema: uploadSchema }, 201: { description: "stored", schema: uploadSchema } },
      { description: "the model bytes", media: "application/octet-stream" },
    ),
    requireRole("admin"),
    validate("param", shaParamSchema),
    validate("query", appQuerySchema),
    async (c) => {
      const { sha256 } = c.req.valid("param");
      const app = uploaderApp(c.var.caller, c.req.valid("query").app);
      const length = declaredLength(c.req.header("Content-Length"), maxArtifactBytes(c.env));
      const body = c.req.raw.body;
      if (!body) throw new ApiError(400, "validation", "artifact is empty");
      const db = openDb(c.env);
      const record = async () => {
        if (app !== undefined) await recordUpload(db, { sha256, app, keyId: c.var.caller.keyId, createdAt: Date.now() });
      };
      const existing = await c.env.ARTIFACTS.head(sha256);
      if (existing) {
        if ((await streamedSha256(body)) !== sha256) throw new ApiError(400, "hash_mismatch", `the body's SHA-256 is not ${sha256}`);
        await record();
        return c.json({ sha256, size: existing.size, created: false }, 200);
      }
      try {
        const stored = await c.env.ARTIFACTS.put(sha256, body, {
          sha256,
          httpMetadata: { contentType: "application/octet-stream", cacheControl: IMMUTABLE },
        });
        await record();
        return c.json({ sha256, size: stored?.size ?? length, created: true }, 201);
      } catch (err) {
        if (isChecksumMismatch(err)) throw new ApiError(400, "hash_mismatch", `the body's SHA-256 is not ${sha256}`);
        throw err;
      }
    },
  )
  .get(
    "/:sha256",
    documented("Model bytes by SHA-256 (ranges, ETag)", {
      200: { description: "the bytes", media: "application/octet-stream" },
      206: { description: "a range of the bytes", media: "application/octet-stream" },
      304: { description: "not modified" },
    }),
    requireRole("ingest"),
    limitIngestKey,
    validate("param", shaParamSchema),
    async (c) => {
      const { sha256 } = c.req.valid("param");
      const caller = c.var.caller;
      if (!caller.bootstrap && !(await appMayUseArtifact(openDb(c.env), caller.app!, sha256))) throw new ApiError(404, "not_found", `no artifact ${sha256}`);
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
    },
  );
