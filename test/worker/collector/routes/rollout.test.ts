import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { BOOTSTRAP, call, createKey, expectError, manifestFor, modelBytes, publish, rollout, unique, upload } from "../../registry-helpers.ts";

interface Assignment {
  model: string;
  version: number;
  role: string;
  manifest: Record<string, unknown> & { version: number };
  shadow?: { version: number; manifest: { version: number }; sampleRate: number };
  sampleRate: number;
  configVersion: number;
}

/** A model with `n` versions, in a fresh app, with its admin and ingest keys. */
async function modelWith(n: number) {
  const app = unique("ro");
  const admin = await createKey(app, "admin");
  const ingest = await createKey(app, "ingest");
  const model = unique("m");
  for (let i = 0; i < n; i++) await publish(model, admin.token);
  return { model, admin: admin.token, ingest: ingest.token };
}

async function assignment(model: string, client: string, token: string, config?: number): Promise<Assignment> {
  const res = await call("GET", `/v1/assignment?model=${model}&client=${client}${config === undefined ? "" : `&config=${config}`}`, { token });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as Assignment;
}

async function auditActions(model: string): Promise<string[]> {
  const detail = (await (await call("GET", `/v1/models/${model}`, { token: BOOTSTRAP })).json()) as { audit: { action: string }[] };
  return detail.audit.map((a) => a.action).reverse();
}

describe("PUT /v1/models/:model/rollout", () => {
  it("starts a canary, raises its percent without reshuffling, and promotes it", async () => {
    const { model, admin, ingest } = await modelWith(2);
    const started = await rollout(model, { canary: { version: 2, percent: 10 } }, admin);
    expect(started).toMatchObject({ changed: true, action: "rollout", rollout: { configVersion: 2, stable: 1, canary: { version: 2, percent: 10 } } });
    const clients = Array.from({ length: 50 }, (_, i) => `c${i}`);
    const at10 = await Promise.all(clients.map((c) => assignment(model, c, ingest)));
    const canary10 = clients.filter((_, i) => at10[i]!.version === 2);
    expect(at10.every((a) => a.configVersion === 2 && a.role === (a.version === 2 ? "canary" : "stable"))).toBe(true);

    expect((await rollout(model, { canary: { version: 2, percent: 50 } }, admin)).rollout.configVersion).toBe(3);
    const at50 = await Promise.all(clients.map((c) => assignment(model, c, ingest)));
    const canary50 = new Set(clients.filter((_, i) => at50[i]!.version === 2));
    for (const c of canary10) expect(canary50.has(c)).toBe(true);
    expect(canary50.size).toBeGreaterThan(canary10.length);

    const promoted = await rollout(model, { stable: 2 }, admin);
    expect(promoted).toMatchObject({ action: "promote", rollout: { configVersion: 4, stable: 2, canary: null } });
    expect((await assignment(model, "c1", ingest)).version).toBe(2);
    expect(await auditActions(model)).toEqual(["publish", "rollout", "publish", "rollout", "rollout", "promote"]);
  });

  it("writes nothing for a change that changes nothing", async () => {
    const { model, admin } = await modelWith(1);
    const same = await rollout(model, { stable: 1, sampleRate: 1 }, admin);
    expect(same).toMatchObject({ changed: false, action: null, rollout: { configVersion: 1 } });
    expect(await auditActions(model)).toEqual(["publish", "rollout"]);
  });

  it("records key, time, before and after of every change", async () => {
    const { model, admin } = await modelWith(2);
    await rollout(model, { shadow: { version: 2, sampleRate: 0.1 }, sampleRate: 0.5 }, admin);
    const detail = (await (await call("GET", `/v1/models/${model}`, { token: admin })).json()) as { audit: Record<string, unknown>[] };
    const [last] = detail.audit;
    expect(last).toMatchObject({
      action: "rollout",
      before: { configVersion: 1, stable: 1, shadow: null, sampleRate: 1 },
      after: { configVersion: 2, stable: 1, shadow: { version: 2, sampleRate: 0.1 }, sampleRate: 0.5 },
    });
    expect(last!.keyId).toMatch(/^key_/);
  });

  it("validates versions, percent and consistency", async () => {
    const { model, admin } = await modelWith(2);
    const put = (json: unknown) => call("PUT", `/v1/models/${model}/rollout`, { token: admin, json });
    await expectError(await put({ stable: 3 }), 400, "validation");
    await expectError(await put({ canary: { version: 1, percent: 10 } }), 400, "validation");
    await expectError(await put({ canary: { version: 2, percent: 101 } }), 400, "validation");
    await expectError(await put({ canary: { version: 2, percent: -1 } }), 400, "validation");
    await expectError(await put({ canary: { version: 2 } }), 400, "validation");
    await expectError(await put({ shadow: { version: 1, sampleRate: 0.5 } }), 400, "validation");
    await expectError(await put({ shadow: { version: 2, sampleRate: 0 } }), 400, "validation");
    await expectError(await put({ sampleRate: 2 }), 400, "validation");
    await expectError(await put({}), 400, "validation");
    await expectError(await put({ stable: 1, percent: 10 }), 400, "validation");
    expect(await auditActions(model)).toEqual(["publish", "rollout", "publish"]);
  });

  it("refuses a version a failed publish left out, which would serve no manifest", async () => {
    const { model, admin, ingest } = await modelWith(3);
    // what a publish whose manifest upload failed leaves when another publish took the next number meanwhile
    await env.DB.prepare("delete from versions where number = 2 and model = (select id from models where name = ?)").bind(model).run();
    const put = (json: unknown) => call("PUT", `/v1/models/${model}/rollout`, { token: admin, json });
    expect(await expectError(await put({ canary: { version: 2, percent: 100 } }), 400, "validation")).toBe("version 2 does not exist (latest is 3)");
    expect(await expectError(await put({ shadow: { version: 2, sampleRate: 0.5 } }), 400, "validation")).toBe("version 2 does not exist (latest is 3)");
    expect((await assignment(model, "c1", ingest)).version).toBe(1);
  });
});

describe("PUT rollout during a publish", () => {
  it("refuses a version whose manifest upload has not succeeded, so a failed publish cannot leave the rollout naming a deleted version", async () => {
    const { model, admin, ingest } = await modelWith(1);
    const bytes = modelBytes();
    const sha = await upload(bytes, admin);
    const bucket = env.ARTIFACTS;
    const put = bucket.put.bind(bucket);
    let during: { status: number } | undefined;
    // the manifest upload of version 2 fails; while it is under way, the owner makes version 2 the canary
    const spy = vi.spyOn(bucket, "put").mockImplementation(async (key, ...rest) => {
      if (!key.startsWith("manifests/")) return put(key, ...rest);
      const res = await call("PUT", `/v1/models/${model}/rollout`, { token: admin, json: { canary: { version: 2, percent: 100 } } });
      during = { status: res.status };
      await res.arrayBuffer();
      throw new Error("R2 did not answer");
    });
    try {
      const res = await call("POST", `/v1/models/${model}/versions`, { token: admin, json: { manifest: manifestFor(model, sha, bytes.length) } });
      await res.arrayBuffer();
      expect(res.status).toBeGreaterThanOrEqual(500);
    } finally {
      spy.mockRestore();
    }
    // the version the failed publish deleted is served to no client
    expect((await assignment(model, "c1", ingest)).version).toBe(1);
    expect(during).toEqual({ status: 409 });
  });
});

describe("If-Match on a rollout change", () => {
  it("applies a change only to the config version it names, and refuses (412) one decided on a rollout that has changed since", async () => {
    const { model, admin } = await modelWith(3);
    await rollout(model, { stable: 2 }, admin);
    const seen = await call("GET", `/v1/models/${model}/rollout`, { token: admin });
    expect(seen.headers.get("ETag")).toBe('"2"');
    // the rollback this caller decided on lands once: sent again (its answer lost), it changes nothing
    const first = await call("POST", `/v1/models/${model}/rollback`, { token: admin, headers: { "If-Match": '"2"' } });
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ rollout: { stable: 1, configVersion: 3 } });
    const again = await call("POST", `/v1/models/${model}/rollback`, { token: admin, headers: { "If-Match": '"2"' } });
    expect(await expectError(again, 412, "conflict")).toMatch(/is at config version 3, not the one If-Match names \("2"\)/);
    // a canary decided on config 2 does not start over config 3; one on the current config does
    expect(
      await expectError(await call("PUT", `/v1/models/${model}/rollout`, { token: admin, json: { canary: { version: 3, percent: 5 } }, headers: { "If-Match": '"2"' } }), 412, "conflict"),
    ).toMatch(/config version 3/);
    const matched = await call("PUT", `/v1/models/${model}/rollout`, { token: admin, json: { canary: { version: 3, percent: 5 } }, headers: { "If-Match": '"1", "3"' } });
    expect(await matched.json()).toMatchObject({ changed: true, rollout: { stable: 1, canary: { version: 3, percent: 5 }, configVersion: 4 } });
    expect(await auditActions(model)).toEqual(["publish", "rollout", "publish", "publish", "rollout", "rollback", "rollout"]);
    // `*`, or no If-Match, applies to whatever is stored
    expect((await call("POST", `/v1/models/${model}/rollback`, { token: admin, headers: { "If-Match": "*" } })).status).toBe(200);
  });
});

describe("POST /v1/models/:model/rollback", () => {
  it("aborts an active canary first, keeping stable", async () => {
    const { model, admin, ingest } = await modelWith(2);
    await rollout(model, { canary: { version: 2, percent: 100 } }, admin);
    expect((await assignment(model, "x", ingest)).version).toBe(2);
    const res = await call("POST", `/v1/models/${model}/rollback`, { token: admin });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ action: "rollback", rollout: { stable: 1, canary: null, configVersion: 3 } });
    expect((await assignment(model, "x", ingest)).version).toBe(1);
  });

  it("steps back through previous stables, then answers 409; the model's page names each target", async () => {
    const { model, admin } = await modelWith(3);
    const rollbackTo = async () => ((await (await call("GET", `/v1/models/${model}`, { token: admin })).json()) as { rollbackTo: number | null }).rollbackTo;
    expect(await rollbackTo()).toBeNull();
    await rollout(model, { shadow: { version: 2, sampleRate: 0.5 } }, admin);
    await rollout(model, { shadow: null }, admin);
    expect(await rollbackTo()).toBeNull();
    await rollout(model, { stable: 2 }, admin);
    await rollout(model, { stable: 3 }, admin);
    await rollout(model, { canary: { version: 1, percent: 5 } }, admin);
    expect(await rollbackTo()).toBe(3);
    const back = async () => call("POST", `/v1/models/${model}/rollback`, { token: admin });
    expect(((await (await back()).json()) as { rollout: { stable: number } }).rollout.stable).toBe(3);
    expect(await rollbackTo()).toBe(2);
    expect(((await (await back()).json()) as { rollout: { stable: number } }).rollout.stable).toBe(2);
    expect(await rollbackTo()).toBe(1);
    expect(((await (await back()).json()) as { rollout: { stable: number } }).rollout.stable).toBe(1);
    expect(await rollbackTo()).toBeNull();
    await expectError(await back(), 409, "conflict");
    expect(await auditActions(model)).toEqual(["publish", "rollout", "publish", "publish", "rollout", "rollout", "rollout", "rollout", "rollout", "rollback", "rollback", "rollback"]);
  });

  it("finds the previous stable pages back in a long log, and shows its newest 100 entries", async () => {
    const { model, admin } = await modelWith(3);
    const detail = async () =>
      (await (await call("GET", `/v1/models/${model}`, { token: admin })).json()) as { rollbackTo: number | null; audit: { id: number; after: { sampleRate?: number } | null }[] };
    await rollout(model, { stable: 2 }, admin);
    // 150 changes that keep stable: the previous stable (1) lies 151 entries back, past the 100 shown
    for (let i = 1; i <= 150; i++) await rollout(model, { sampleRate: i / 1000 }, admin);
    const page = await detail();
    expect(page.rollbackTo).toBe(1);
    expect(page.audit).toHaveLength(100);
    expect(page.audit[0]!.after?.sampleRate).toBe(0.15);
    expect(page.audit.map((a) => a.id)).toEqual([...page.audit.map((a) => a.id)].sort((a, b) => b - a));
    await rollout(model, { stable: 3 }, admin);
    expect((await detail()).rollbackTo).toBe(2);
    expect(((await (await call("POST", `/v1/models/${model}/rollback`, { token: admin })).json()) as { rollout: { stable: number } }).rollout.stable).toBe(2);
    expect((await detail()).rollbackTo).toBe(1);
  });
});

describe("GET /v1/assignment", () => {
  it("answers the live version's client manifest (no profile), shadow, sample rate, config version; never cached", async () => {
    const { model, admin, ingest } = await modelWith(2);
    await rollout(model, { shadow: { version: 2, sampleRate: 0.25 }, sampleRate: 0.5 }, admin);
    const res = await call("GET", `/v1/assignment?model=${model}&client=abc`, { token: ingest, headers: { Origin: "https://shop.example" } });
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe("*");
    const a = (await res.json()) as Assignment;
    expect(a).toMatchObject({ model, version: 1, role: "stable", sampleRate: 0.5, configVersion: 2, shadow: { version: 2, sampleRate: 0.25 } });
    expect(a.manifest).toMatchObject({ model, version: 1, format: 1 });
    expect(a.manifest).not.toHaveProperty("profile");
    expect(a.shadow!.manifest).not.toHaveProperty("profile");
    expect(a.shadow!.manifest.version).toBe(2);
  });

  it("is sticky: the same client gets the same answer until the rollout changes", async () => {
    const { model, admin, ingest } = await modelWith(2);
    await rollout(model, { canary: { version: 2, percent: 50 } }, admin);
    const first = await Promise.all(["a", "b", "c", "d", "e", "f"].map((c) => assignment(model, c, ingest)));
    const again = await Promise.all(["a", "b", "c", "d", "e", "f"].map((c) => assignment(model, c, ingest)));
    expect(again).toEqual(first);
  });

  it("answers 404 for unknown models and 400 without a client", async () => {
    await expectError(await call("GET", `/v1/assignment?model=${unique("nope")}&client=a`, { token: BOOTSTRAP }), 404, "not_found");
    await expectError(await call("GET", `/v1/assignment?model=m`, { token: BOOTSTRAP }), 400, "validation");
    await expectError(await call("GET", `/v1/assignment?model=m&client=${"x".repeat(200)}`, { token: BOOTSTRAP }), 400, "validation");
  });
});

describe("GET /v1/assignment after a push", () => {
  it("answers a pushed config version from the isolate's cache only when the cached rollout has reached it", async () => {
    const { model, admin, ingest } = await modelWith(2);
    const first = await rollout(model, { stable: 1 }, admin);
    // a pushed client warms the cache with config version n
    expect(await assignment(model, "c1", ingest, first.rollout.configVersion)).toMatchObject({ version: 1, configVersion: first.rollout.configVersion });
    const second = await rollout(model, { stable: 2 }, admin);
    // told of n + 1, the client gets the new rollout, not the cached one
    expect(await assignment(model, "c1", ingest, second.rollout.configVersion)).toMatchObject({ version: 2, configVersion: second.rollout.configVersion });
    await rollout(model, { stable: 1 }, admin);
    // a client that names no pushed version (a poll) always gets the current rollout
    expect((await assignment(model, "c1", ingest)).version).toBe(1);
    await expectError(await call("GET", `/v1/assignment?model=${model}&client=c1&config=-1`, { token: ingest }), 400, "validation");
  });
});
