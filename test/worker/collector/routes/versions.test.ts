import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../../../collector/index.ts";
import type { ModelDetail } from "../../../../protocol/api.ts";
import { sha256Hex } from "../../../../protocol/hash.ts";
import { LIMITS } from "../../../../protocol/limits.ts";
import { failingD1 } from "../../faulty-d1.ts";
import { BOOTSTRAP, call, createKey, expectError, manifestFor, modelBytes, publish, unique, upload } from "../../registry-helpers.ts";

async function publishBody(model: string, body: unknown, token = BOOTSTRAP) {
  return call("POST", `/v1/models/${model}/versions`, { token, json: body });
}

async function freshManifest(model: string, token = BOOTSTRAP) {
  const bytes = modelBytes();
  return manifestFor(model, await upload(bytes, token), bytes.length);
}

/** A publish straight into the app, with D1 failing at the first statement matching `fault`. */
async function publishWithFault(model: string, body: unknown, fault: RegExp): Promise<Response> {
  const ctx = createExecutionContext();
  const req = new Request(`http://collector/v1/models/${model}/versions`, {
    method: "POST",
    headers: { Authorization: `Bearer ${BOOTSTRAP}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const res = await app.fetch(req, { ...env, DB: failingD1(env.DB, (query) => fault.test(query)) }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

describe("POST /v1/models/:model/versions", () => {
  it("numbers versions 1, 2, 3 per model; the first becomes stable with config version 1", async () => {
    const model = unique("churn");
    const v1 = await publish(model);
    const v2 = await publish(model);
    const v3 = await publish(model);
    expect([v1.version, v2.version, v3.version]).toEqual([1, 2, 3]);
    expect((await publish(unique("other"))).version).toBe(1);
    const detail = (await (await call("GET", `/v1/models/${model}`, { token: BOOTSTRAP })).json()) as ModelDetail;
    expect(detail.rollout).toMatchObject({ configVersion: 1, stable: 1, canary: null, shadow: null, sampleRate: 1 });
    expect(detail.versions.map((v) => v.version)).toEqual([1, 2, 3]);
    expect(detail.app).toBe("default");
  });

  it("records the server's number, time and publisher, and keeps the full manifest in R2", async () => {
    const appId = unique("pub");
    const admin = await createKey(appId, "admin");
    const model = unique("m");
    const manifest = await freshManifest(model, admin.token);
    const res = await publishBody(model, { manifest: { ...manifest, version: 42 }, publisher: "alice" }, admin.token);
    expect(res.status).toBe(201);
    const version = (await res.json()) as Record<string, unknown>;
    expect(version).toMatchObject({ model, version: 1, sha256: manifest.sha256, size: manifest.size, publisher: "alice", publisherKey: admin.id, profileRows: 200 });
    expect(Date.parse(version.createdAt as string)).toBeGreaterThan(Date.now() - 60_000);
    const full = (await (await call("GET", `/v1/models/${model}/versions/1`, { token: admin.token })).json()) as { manifest: Record<string, unknown> };
    expect(full.manifest).toEqual({ ...manifest, version: 1 });
    // stored under the model's key, app/name
    expect(await env.ARTIFACTS.head(`manifests/${appId}/${model}/1.json`)).not.toBeNull();
    const row = await env.DB.prepare("select manifest from versions where model = ?").bind(`${appId}/${model}`).first<{ manifest: string }>();
    expect(JSON.parse(row!.manifest)).not.toHaveProperty("profile");
  });

  it("is idempotent by sha256 and profile: publishing the same artifact and profile again returns the existing version", async () => {
    const model = unique("idem");
    const manifest = await freshManifest(model);
    expect((await publishBody(model, { manifest })).status).toBe(201);
    const again = await publishBody(model, { manifest });
    expect(again.status).toBe(200);
    expect(((await again.json()) as { version: number }).version).toBe(1);
    const count = await env.DB.prepare("select count(*) as n from versions where model = ?").bind(`default/${model}`).first<{ n: number }>();
    expect(count!.n).toBe(1);
  });

  it("publishes the same artifact with another reference profile as a new version, and each profile again as its own", async () => {
    const model = unique("reprofiled");
    const first = await freshManifest(model);
    // the same bytes profiled again, with labels this time
    const performance = { kind: "classification" as const, labelled: 200, accuracy: 0.9, precision: {}, recall: {}, f1: {}, log_loss: 0.3, calibration: { confidence: [], accuracy: [], count: [] } };
    const second = { ...first, profile: { ...first.profile, performance } };
    const versionOf = async (manifest: typeof first) => {
      const res = await publishBody(model, { manifest });
      return `${res.status}:${((await res.json()) as { version: number }).version}`;
    };
    expect(await versionOf(first)).toBe("201:1");
    expect(await versionOf(second)).toBe("201:2");
    expect([await versionOf(first), await versionOf(second)]).toEqual(["200:1", "200:2"]);
    // two publishes of a third profile at once make one version
    const third = { ...first, profile: { ...first.profile, rows: 201 } };
    expect((await Promise.all([versionOf(third), versionOf(third)])).sort()).toEqual(["200:3", "201:3"]);
    const served = (await (await call("GET", `/v1/models/${model}/versions/2`, { token: BOOTSTRAP })).json()) as { manifest: typeof first };
    expect(served.manifest.profile.performance).toEqual(performance);
    // a version published before profile hashes were recorded is found by its stored profile
    await env.DB.prepare("update versions set profile_hash = null where model = ?").bind(`default/${model}`).run();
    expect([await versionOf(second), await versionOf(first)]).toEqual(["200:2", "200:1"]);
    // each stored profile read on the way gets its hash recorded: versions 1 and 2, not 3
    const hashed = await env.DB.prepare("select number from versions where model = ? and profile_hash is not null order by number").bind(`default/${model}`).all<{ number: number }>();
    expect(hashed.results.map((r) => r.number)).toEqual([1, 2]);
  });

  it("a first publish that failed after storing its version is completed by publishing it again", async () => {
    for (const fault of [/^insert into "audit_log"/, /^insert into "rollouts"/]) {
      const model = unique("fault");
      const manifest = await freshManifest(model);
      expect((await publishWithFault(model, { manifest }, fault)).status).toBeGreaterThanOrEqual(500);
      // the version is stored; the retry finds it and makes it stable as the first publish would have
      const again = await publishBody(model, { manifest });
      expect(again.status, await again.clone().text()).toBe(200);
      const rollout = await call("GET", `/v1/models/${model}/rollout`, { token: BOOTSTRAP });
      expect({ status: rollout.status, body: await rollout.json() }).toMatchObject({ status: 200, body: { stable: 1, configVersion: 1 } });
      const { token } = await createKey("default", "ingest");
      expect((await call("GET", `/v1/assignment?model=${model}&client=c1`, { token })).status).toBe(200);
    }
  });

  it("a publish whose manifest upload failed and whose version could not be deleted is completed by publishing it again", async () => {
    const model = unique("no-manifest");
    const manifest = await freshManifest(model);
    // R2 refuses the manifest, and D1 the deletion of the version the publish stored
    const bucket = new Proxy(env.ARTIFACTS, {
      get(target, prop) {
        const value = Reflect.get(target, prop) as (...a: unknown[]) => unknown;
        if (prop !== "put") return typeof value === "function" ? value.bind(target) : value;
        return (key: string, ...rest: unknown[]) =>
          key.startsWith("manifests/") ? Promise.reject(new Error("put: We encountered an internal error. Please try again. (10001)")) : value.call(target, key, ...rest);
      },
    });
    const req = new Request(`http://collector/v1/models/${model}/versions`, {
      method: "POST",
      headers: { Authorization: `Bearer ${BOOTSTRAP}`, "Content-Type": "application/json" },
      body: JSON.stringify({ manifest }),
    });
    const failed = await app.fetch(req, { ...env, ARTIFACTS: bucket, DB: failingD1(env.DB, (query) => /^delete from "versions"/.test(query)) });
    expect(failed.status, await failed.text()).toBeGreaterThanOrEqual(500);
    // the retry a failed publish calls for
    const again = await publishBody(model, { manifest });
    expect(again.status, await again.clone().text()).toBe(200);
    const version = await call("GET", `/v1/models/${model}/versions/1`, { token: BOOTSTRAP });
    const body = (await version.json()) as { manifest?: { profile?: unknown; version?: number } };
    expect({ status: version.status, profile: body.manifest?.profile, version: body.manifest?.version }).toEqual({ status: 200, profile: manifest.profile, version: 1 });
    const drift = await call("GET", `/v1/drift?model=${model}`, { token: BOOTSTRAP });
    expect(drift.status, await drift.text()).toBe(200);
  });

  it("asks to upload the artifact first (409 not_found) and checks its size (409 conflict)", async () => {
    const model = unique("noart");
    const bytes = modelBytes();
    const missing = manifestFor(model, await sha256Hex(bytes), bytes.length);
    const msg = await expectError(await publishBody(model, { manifest: missing }), 409, "not_found");
    expect(msg).toMatch(/upload the artifact first/);
    const sha = await upload(bytes);
    await expectError(await publishBody(model, { manifest: manifestFor(model, sha, bytes.length + 1) }), 409, "conflict");
    expect((await call("GET", `/v1/models/${model}`, { token: BOOTSTRAP })).status).toBe(404);
  });

  it("refuses an artifact that is not an ONNX model (400 validation), and takes one that is", async () => {
    const model = unique("not-onnx");
    for (const text of ["this is not an onnx model", '{"model": true}', "PK\u0003\u0004 a zip file"]) {
      const bytes = new TextEncoder().encode(text);
      const sha = await upload(bytes);
      const msg = await expectError(await publishBody(model, { manifest: manifestFor(model, sha, bytes.length) }), 400, "validation");
      expect(msg).toMatch(/is not an ONNX model/);
    }
    expect((await publish(model)).version).toBe(1);
  });

  it("refuses a manifest for another model, or whose profile does not fit the features", async () => {
    const model = unique("fit");
    const manifest = await freshManifest(model);
    await expectError(await publishBody(model, { manifest: { ...manifest, model: "something-else" } }), 400, "validation");
    const { plan: _plan, ...withoutPlan } = manifest.profile.features;
    const lacking = await expectError(await publishBody(model, { manifest: { ...manifest, profile: { ...manifest.profile, features: withoutPlan } } }), 400, "validation");
    expect(lacking).toMatch(/plan/);
    const tenure = manifest.profile.features.tenure!;
    const swapped = { ...manifest.profile.features, plan: { kind: "categorical", sketch: tenure.sketch } };
    await expectError(await publishBody(model, { manifest: { ...manifest, profile: { ...manifest.profile, features: swapped } } }), 400, "validation");
    const garbage = { ...manifest.profile.features, tenure: { kind: "numeric", sketch: "AAAA" } };
    await expectError(await publishBody(model, { manifest: { ...manifest, profile: { ...manifest.profile, features: garbage } } }), 400, "validation");
    const { profile: _profile, ...noProfile } = manifest;
    await expectError(await publishBody(model, { manifest: noProfile }), 400, "validation");
    const labels = [{ ...manifest.outputs[0]!, labels: ["stay", "leave"] }];
    await expectError(await publishBody(model, { manifest: { ...manifest, outputs: labels } }), 400, "validation");
  });

  it("creates the model in the caller's app, or the bootstrap key's chosen app", async () => {
    const appId = unique("owner");
    const admin = await createKey(appId, "admin");
    const other = await createKey(unique("rival"), "admin");
    const model = unique("owned");
    await publish(model, admin.token);
    // the same name in another app is another model (per-app-models.test.ts has more)
    expect((await publish(model, other.token)).version).toBe(1);
    await expectError(await publishBody(unique("x"), { manifest: await freshManifest("x"), app: "elsewhere" }, admin.token), 400, "validation");
    const chosen = unique("chosen");
    const byBootstrap = unique("boot");
    await publish(byBootstrap, BOOTSTRAP, { app: chosen });
    const detail = (await (await call("GET", `/v1/models/${byBootstrap}`, { token: BOOTSTRAP })).json()) as { app: string };
    expect(detail.app).toBe(chosen);
    const foreign = unique("foreign");
    await expectError(await publishBody(foreign, { manifest: await freshManifest(foreign), app: unique("not-mine") }, admin.token), 403, "forbidden");
  });

  it("refuses bodies over the manifest limit with 413 before reading them", async () => {
    const res = await call("POST", `/v1/models/${unique("big")}/versions`, {
      token: BOOTSTRAP,
      headers: { "Content-Type": "application/json" },
      body: `{"manifest": "${"x".repeat(LIMITS.manifestBytes + 70 * 1024)}"}`,
    });
    await expectError(res, 413, "payload_too_large");
  });
});

describe("GET /v1/models", () => {
  it("lists the caller's app's models with latest version and rollout", async () => {
    const appId = unique("list");
    const admin = await createKey(appId, "admin");
    const reader = await createKey(appId, "read");
    const a = unique("a");
    const b = unique("b");
    await publish(a, admin.token);
    await publish(a, admin.token);
    await publish(b, admin.token);
    await publish(unique("not-listed"));
    const res = await call("GET", "/v1/models", { token: reader.token });
    expect(res.status).toBe(200);
    const { models } = (await res.json()) as { models: { name: string; app: string; latestVersion: number; rollout: { stable: number } }[] };
    expect(models.map((m) => [m.name, m.app, m.latestVersion, m.rollout.stable])).toEqual([
      [a, appId, 2, 1],
      [b, appId, 1, 1],
    ]);
  });

  it("shows a model's versions and its audit log, newest first, with key, time, before and after", async () => {
    const model = unique("audited");
    await publish(model);
    const detail = (await (await call("GET", `/v1/models/${model}`, { token: BOOTSTRAP })).json()) as ModelDetail;
    expect(detail.audit.map((e) => e.action)).toEqual(["rollout", "publish"]);
    expect(detail.audit[0]).toMatchObject({ model, keyId: "bootstrap", before: null, after: { stable: 1, configVersion: 1 } });
    expect(detail.audit[0]!.after).not.toHaveProperty("salt");
    expect(detail.audit[1]).toMatchObject({ action: "publish", after: { version: 1 } });
    expect(Date.parse(detail.audit[0]!.at)).toBeGreaterThan(0);
  });

  it("answers 404 for unknown models and versions", async () => {
    await expectError(await call("GET", `/v1/models/${unique("ghost")}`, { token: BOOTSTRAP }), 404, "not_found");
    const model = unique("one");
    await publish(model);
    await expectError(await call("GET", `/v1/models/${model}/versions/2`, { token: BOOTSTRAP }), 404, "not_found");
    await expectError(await call("GET", `/v1/models/${model}/versions/zero`, { token: BOOTSTRAP }), 400, "validation");
  });
});
