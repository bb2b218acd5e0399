import { ONNX_HEADER_BYTES, onnxHeaderProblem } from "./onnx-header.ts";
import type { Manifest } from "../../protocol/schema/manifest.ts";
import { sha256Hex } from "../../protocol/hash.ts";
import { canonicalJson } from "../../protocol/signature.ts";
import type { PublishBody } from "../api-schemas.ts";
import { assertApp } from "../auth.ts";
import type { Caller } from "../env.ts";
import { insertAudit } from "../db/audit.ts";
import { appMayUseArtifact } from "../db/artifacts.ts";
import type { Db } from "../db/client.ts";
import { ensureApp } from "../db/keys.ts";
import { ensureModel, type ModelRow } from "../db/models.ts";
import { getRollout, saveRollout } from "../db/rollouts.ts";
import { deleteVersion, insertVersion, latestVersion, recordProfileHash, versionsOfArtifact, type VersionRow } from "../db/versions.ts";
import { ApiError } from "../errors.ts";
import { profileProblem } from "../../protocol/profile-check.ts";
import { randomBase64Url } from "../random.ts";
import { DEFAULT_SAMPLE_RATE } from "../rollout/state.ts";
import { type ClientManifest, MAX_CLIENT_MANIFEST_BYTES, toClientManifest } from "./client-manifest.ts";
import { accessModel } from "./model-access.ts";
import { modelKey } from "./model-key.ts";

/** The app a new model goes to when the bootstrap key does not say. */
export const DEFAULT_APP = "default";

// Concurrent publishes of one model race for the next number; the loser retries.
const INSERT_ATTEMPTS = 3;

/** What publishing did: the version, and whether it is new (201) or was already there (200). */
export interface Published {
  version: VersionRow;
  created: boolean;
}

/**
 * R2 key of the full manifest (reference profile included) of a version.
 *
 * @param model - the model's key
 * @param version - the version number
 */
export function manifestKey(model: string, version: number): string {
  return `manifests/${model}/${version}.json`;
}

/**
 * The model the publish goes to: the caller's app's model `name`, or for the bootstrap key that of
 * `app` (else the only one of that name); when there is none yet, the app a new one goes to
 * (nothing is written). A key may not name another app than its own (403).
 */
async function owner(db: Db, caller: Caller, name: string, app: string | undefined): Promise<ModelRow | string> {
  if (app !== undefined) assertApp(caller, app);
  try {
    return await accessModel(db, caller, name, app);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err;
    return app ?? caller.app ?? DEFAULT_APP;
  }
}

async function createModel(db: Db, name: string, app: string, now: number): Promise<ModelRow> {
  await ensureApp(db, app, now);
  // a concurrent first publish of the same name in the same app may have created it: that one is ours too
  return ensureModel(db, { id: modelKey(app, name), app, name, createdAt: now });
}

function checkClientSize(manifest: Manifest): void {
  const bytes = new TextEncoder().encode(JSON.stringify(toClientManifest(manifest, 0))).length;
  if (bytes > MAX_CLIENT_MANIFEST_BYTES) {
    throw new ApiError(400, "limit_exceeded", `manifest without its profile is ${bytes} bytes, over ${MAX_CLIENT_MANIFEST_BYTES}`);
  }
}

/**
 * The artifact must be one the app may use (it uploaded it, or one of its versions names it; the
 * bootstrap key may use any), be in R2 with the manifest's size, and read as an ONNX model
 * (./onnx-header.ts). An artifact of another app
 * answers exactly as a missing one, so its existence does not leak.
 */
async function checkArtifact(env: Env, db: Db, caller: Caller, app: string, sha256: string, size: number): Promise<void> {
  const usable = caller.bootstrap || (await appMayUseArtifact(db, app, sha256));
  const object = usable ? await env.ARTIFACTS.head(sha256) : null;
  if (!object) {
    throw new ApiError(409, "not_found", `artifact ${sha256} is not uploaded by app "${app}": upload the artifact first (PUT /v1/artifacts/${sha256})`);
  }
  if (object.size !== size) {
    throw new ApiError(409, "conflict", `manifest size ${size} differs from the artifact's ${object.size} bytes`);
  }
  const head = await env.ARTIFACTS.get(sha256, { range: { offset: 0, length: Math.min(size, ONNX_HEADER_BYTES) } });
  const problem = onnxHeaderProblem(new Uint8Array((await head?.arrayBuffer()) ?? new ArrayBuffer(0)), size <= ONNX_HEADER_BYTES);
  if (problem) throw new ApiError(400, "validation", `artifact ${sha256.slice(0, 12)} is not an ONNX model (${problem})`);
}

/** SHA-256 (hex) of a reference profile's canonical JSON. */
const profileHashOf = (profile: Manifest["profile"]) => sha256Hex(new TextEncoder().encode(canonicalJson(profile)));

/**
 * The version of `model` with these bytes and this profile, if there is one: a row that records
 * the profile's hash, else a row of these bytes published before hashes were recorded whose
 * profile, read from R2, hashes the same (each such row read gets its hash recorded).
 */
async function versionOf(bucket: R2Bucket, db: Db, model: string, sha256: string, profileHash: string): Promise<VersionRow | undefined> {
  const rows = await versionsOfArtifact(db, model, sha256);
  const same = rows.find((r) => r.profileHash === profileHash);
  if (same) return same;
  for (const row of rows.filter((r) => r.profileHash === null)) {
    const stored = await bucket.get(row.manifestKey);
    if (!stored) continue;
    const hash = await profileHashOf((await stored.json<Manifest>()).profile);
    await recordProfileHash(db, row, hash);
    if (hash === profileHash) return row;
  }
  return undefined;
}

type NewVersion = Omit<VersionRow, "number" | "manifest" | "manifestKey">;

async function insertNext(bucket: R2Bucket, db: Db, row: NewVersion & { profileHash: string }, manifest: Manifest): Promise<Published> {
  for (let attempt = 1; ; attempt++) {
    const number = (await latestVersion(db, row.model)) + 1;
    const client = JSON.stringify(toClientManifest(manifest, number));
    const version = { ...row, number, manifest: client, manifestKey: manifestKey(row.model, number) };
    try {
      await insertVersion(db, version);
      return { version, created: true };
    } catch (err) {
      // a concurrent publish of the same bytes and profile stored it first
      const existing = await versionOf(bucket, db, row.model, row.sha256, row.profileHash);
      if (existing) return { version: existing, created: false };
      if (attempt === INSERT_ATTEMPTS) throw err;
    }
  }
}

async function storeFullManifest(bucket: R2Bucket, db: Db, version: VersionRow, manifest: Manifest): Promise<void> {
  try {
    await bucket.put(version.manifestKey, JSON.stringify({ ...manifest, version: version.number }), {
      httpMetadata: { contentType: "application/json" },
    });
  } catch (err) {
    await deleteVersion(db, version.model, version.number);
    throw err;
  }
}

/**
 * Stores the full manifest of a version found again by a retried publish, when it is missing: the
 * publish that stored the version stopped before its manifest was stored and could not delete
 * the version (the Worker stopped in between, or D1 failed as R2 had). Without it the version's
 * reference profile would be lost for good (drift, `GET …/versions/:n`), and the retry answer
 * "already published". The manifest is the stored client manifest with the profile the retry
 * carries (its hash is the version's), so it is the one the first publish would have stored.
 */
async function completeFullManifest(bucket: R2Bucket, version: VersionRow, manifest: Manifest): Promise<void> {
  if (await bucket.head(version.manifestKey)) return;
  const client = JSON.parse(version.manifest) as ClientManifest;
  await bucket.put(version.manifestKey, JSON.stringify({ ...client, profile: manifest.profile, version: version.number }), {
    httpMetadata: { contentType: "application/json" },
  });
}

/** Audits the publish. */
async function auditPublish(db: Db, caller: Caller, version: VersionRow, now: number): Promise<void> {
  const after = { version: version.number, sha256: version.sha256, size: version.size, publisher: version.publisher };
  await insertAudit(db, { model: version.model, keyId: caller.keyId, at: now, action: "publish", before: null, after });
}

/**
 * For a model without a rollout yet, makes version 1 stable: after its first publish, or when a
 * publish is retried whose first try stored the version but failed before this.
 */
async function startRollout(db: Db, caller: Caller, model: string, now: number): Promise<void> {
  if (await getRollout(db, model)) return;
  const initial = { configVersion: 1, stable: 1, canary: null, shadow: null, sampleRate: DEFAULT_SAMPLE_RATE, salt: randomBase64Url(12), updatedAt: now };
  await saveRollout(db, model, null, initial, { keyId: caller.keyId, action: "rollout" });
}

/**
 * Registers a version of `name`: the manifest's model must be `name`, its profile must fit
 * (protocol/profile-check.ts `profileProblem`), its artifact must be one the app uploaded (see
 * {@link appMayUseArtifact}) and be in R2 with the manifest's size. The first publish creates the
 * model in the caller's app (the bootstrap key: `app`, else the only model of that name, else
 * {@link DEFAULT_APP}) and makes version 1 stable. Publishing a sha256 the model already has
 * with the same reference profile returns that version (and makes version 1 stable if a failed
 * first publish left no rollout); with another profile (the model profiled again) it is a new
 * version.
 *
 * @param env - the Worker's bindings
 * @param db - drizzle handle
 * @param caller - who publishes (an admin)
 * @param name - the model name from the path
 * @param body - the validated body
 * @param now - epoch ms
 */
export async function publishVersion(env: Env, db: Db, caller: Caller, name: string, body: PublishBody, now: number): Promise<Published> {
  const { manifest } = body;
  if (manifest.model !== name) throw new ApiError(400, "validation", `manifest.model: "${manifest.model}" is not the model in the path, "${name}"`);
  const problem = profileProblem(manifest);
  if (problem) throw new ApiError(400, "validation", problem);
  checkClientSize(manifest);
  const found = await owner(db, caller, name, body.app);
  const profileHash = await profileHashOf(manifest.profile);
  const existing = typeof found === "string" ? undefined : await versionOf(env.ARTIFACTS, db, found.id, manifest.sha256, profileHash);
  if (existing) {
    await completeFullManifest(env.ARTIFACTS, existing, manifest);
    await startRollout(db, caller, existing.model, now);
    return { version: existing, created: false };
  }
  const app = typeof found === "string" ? found : found.app;
  await checkArtifact(env, db, caller, app, manifest.sha256, manifest.size);
  const model = typeof found === "string" ? await createModel(db, name, found, now) : found;

  const published = await insertNext(
    env.ARTIFACTS,
    db,
    {
      model: model.id,
      sha256: manifest.sha256,
      size: manifest.size,
      profileRows: manifest.profile.rows,
      publisherKey: caller.keyId,
      publisher: body.publisher ?? caller.label ?? caller.keyId,
      createdAt: now,
      profileHash,
    },
    manifest,
  );
  if (published.created) {
    await storeFullManifest(env.ARTIFACTS, db, published.version, manifest);
    await auditPublish(db, caller, published.version, now);
  }
  await startRollout(db, caller, model.id, now);
  return published;
}
