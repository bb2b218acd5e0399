// Orderings around the start (runtime/runtime.ts, runtime/updates.ts): a kept version serving
// while a new one loads on, the shadow loaded right after the start, close() and a rollback
// arriving mid-load, two models sharing one store. Found by an attacker's pass; each failed on the
// code before the fix. The real runtime and onnxruntime-web under Node, with a memory store for
// the page's IndexedDB, a collector in memory whose artifacts can be held back (the orderings are
// hard to force over HTTP) and a manual clock that fires the start's `timeoutMs` on command. The
// same store sharing over a real collector and IndexedDB: test/browser/runtime-shared-store.test.ts.
import { afterEach, describe, expect, it, vi } from "vitest";
import * as ort from "onnxruntime-web";
import { createRuntime, type Clock, type Transport } from "../../../runtime/index.ts";
import { memoryStore } from "../../../runtime/model-store.ts";
import type { Assignment, ModelStore } from "../../../runtime/types.ts";
import { churnModel, churnRows } from "../../fixtures/runtime-models.ts";

// every session onnxruntime-web opens, until it is released
const open = new Set<object>();
const create = ort.InferenceSession.create.bind(ort.InferenceSession) as (...a: unknown[]) => Promise<ort.InferenceSession>;
vi.spyOn(ort.InferenceSession, "create").mockImplementation((async (...args: unknown[]) => {
  const session = await create(...args);
  open.add(session);
  const release = session.release.bind(session);
  session.release = async () => (open.delete(session), release());
  return session;
}) as never);

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, ms = 10_000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await tick(5);
  }
}

function manualClock() {
  const timers = new Map<number, { ms: number; fn: () => void }>();
  let next = 1;
  const clock: Clock = {
    now: () => Date.now(),
    setTimeout: (fn, ms) => (timers.set(next, { ms, fn }), next++),
    clearTimeout: (t) => void timers.delete(t as number),
    idle: (fn) => void setTimeout(fn, 0),
  };
  /** Fires the timers of `ms` (the start's race timer is the only one of `timeoutMs`). */
  const fire = (ms: number) => {
    for (const [t, x] of [...timers]) if (x.ms === ms) timers.delete(t), x.fn();
  };
  const has = (ms: number) => [...timers.values()].some((x) => x.ms === ms);
  return { clock, fire, has };
}

type Version = ReturnType<typeof churnModel>;
const strip = ({ manifest: { profile: _p, ...m } }: Version, version: number) => ({ ...m, version });
const liveOf = (name: string, v: Version, version: number, extra: Partial<Assignment> = {}) =>
  ({ model: name, version, manifest: strip(v, version), sampleRate: 1, configVersion: version, ...extra }) as Assignment;

/** A collector: `assignment` answered as set, artifacts by sha256 (held back while `hold` has it), `down` fails every call. */
function collector() {
  const c = {
    assignment: undefined as Assignment | undefined,
    artifacts: new Map<string, Uint8Array>(),
    hold: new Map<string, Promise<void>>(),
    down: false,
    downloads: [] as string[],
    transport: undefined as unknown as Transport,
  };
  const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
  c.transport = {
    fetch: async (url, init) => {
      if (c.down) throw new TypeError("fetch failed");
      const path = new URL(url).pathname;
      if (path === "/v1/assignment") return json(c.assignment);
      const sha = path.startsWith("/v1/artifacts/") ? path.slice(14) : "";
      if (c.artifacts.has(sha)) {
        c.downloads.push(sha);
        await c.hold.get(sha);
        return new Response(c.artifacts.get(sha) as Uint8Array<ArrayBuffer>);
      }
      if (path === "/v1/reports") return json({ accepted: 1, rejected: [], assignment: c.assignment && { version: c.assignment.version, configVersion: c.assignment.configVersion, sampleRate: 1 } });
      void init;
      return json({ error: { code: "not_found", message: path } }, 404);
    },
    beacon: () => false,
  };
  return c;
}

const TIMEOUT = 7777;
const base = (c: ReturnType<typeof collector>, store: ModelStore, model: string, clock?: Clock) => ({
  collector: "http://collector.test",
  key: "ing_x",
  model,
  transport: c.transport,
  store,
  push: false,
  backend: "wasm" as const,
  warmupRuns: 0,
  timeoutMs: TIMEOUT,
  client: "c1",
  deviceClass: false,
  ...(clock ? { clock } : {}),
});

/** A page that kept v1 of `name` (stored assignment + cached bytes), and a collector now assigning v2, held back. */
async function keptV1(name = "kept", before?: (c: ReturnType<typeof collector>, store: ModelStore, v1: Version) => Promise<void>, after = async (_let2: () => void) => {}) {
  const [v1, v2] = [churnModel(name, 0), churnModel(name, 1)];
  const c = collector();
  c.artifacts.set(v1.manifest.sha256, v1.bytes).set(v2.manifest.sha256, v2.bytes);
  const store = memoryStore();
  c.assignment = liveOf(name, v1, 1);
  const first = await createRuntime(base(c, store, name));
  await first.close();
  let let2!: () => void;
  c.hold.set(v2.manifest.sha256, new Promise<void>((r) => (let2 = r)));
  c.assignment = liveOf(name, v2, 2);
  await before?.(c, store, v1);
  const { clock, fire, has } = manualClock();
  const events: string[] = [];
  // the start, the new version held back past the race's timer
  const starting = createRuntime(base(c, store, name, clock));
  await until(() => has(TIMEOUT));
  fire(TIMEOUT);
  await after(() => let2());
  const rt = await starting;
  for (const e of ["update", "rollback", "error"] as const) rt.on(e, (p: unknown) => events.push(`${e} ${JSON.stringify(p)}`));
  return { rt, c, store, v1, v2, let2: () => let2(), events };
}

afterEach(() => open.clear());

describe("start with a kept version and a new one past timeoutMs", () => {
  it("baseline: kept v1 serves, v2 swaps in with one update, nothing left open after close", async () => {
    const { rt, let2, events } = await keptV1("base");
    expect(rt.version).toBe("1");
    let2();
    await until(() => rt.version === "2");
    await rt.close();
    await tick(50);
    expect(events).toEqual(['update {"from":"1","to":"2"}']);
    expect(open.size).toBe(0);
  });

  it("close() while the new version still loads: no update after close, no session left open", async () => {
    const { rt, let2, events } = await keptV1("closing");
    await rt.close();
    expect(open.size).toBe(0);
    let2();
    await tick(500);
    expect({ events, version: rt.version, open: open.size }).toEqual({ events: [], version: "1", open: 0 });
  });

  it("a rollback to the kept version arriving while the new one loads: the rolled-back version never serves", async () => {
    const { rt, c, v1, let2, events } = await keptV1("rolled");
    // the collector rolls back to v1 (configVersion 3); the next report's answer / push / poll brings it
    c.assignment = liveOf("rolled", v1, 1, { configVersion: 3 });
    const versions: string[] = [];
    rt.on("update", () => versions.push(rt.version));
    await (rt as never as { predict(r: unknown): Promise<unknown> }).predict(churnRows(1)[0]);
    await rt.flush(); // a report: its answer's hint (configVersion 3) makes the runtime fetch the assignment
    await tick(100);
    let2();
    await tick(1000);
    expect(events.filter((e) => !e.startsWith("error"))).toEqual([]);
    expect(rt.version).toBe("1");
    await rt.close();
  });
});

describe("apply(current) at start", () => {
  it("close() while the start's shadow still loads: no shadow session left open", async () => {
    const [v1, v2] = [churnModel("shadowed", 0), churnModel("shadowed", 1)];
    const c = collector();
    c.artifacts.set(v1.manifest.sha256, v1.bytes).set(v2.manifest.sha256, v2.bytes);
    let let2!: () => void;
    c.hold.set(v2.manifest.sha256, new Promise<void>((r) => (let2 = r)));
    c.assignment = liveOf("shadowed", v1, 1, { shadow: { version: 2, manifest: strip(v2, 2), sampleRate: 1 } } as Partial<Assignment>);
    const rt = await createRuntime(base(c, memoryStore(), "shadowed"));
    await until(() => c.downloads.includes(v2.manifest.sha256));
    await rt.close();
    let2();
    await tick(500);
    expect(open.size).toBe(0);
  });

  it("two models on one page (one IndexedDB): starting one does not delete the other's kept model", async () => {
    const [a, b] = [churnModel("model-a", 0), churnModel("model-b", 1)];
    const ca = collector();
    const cb = collector();
    ca.artifacts.set(a.manifest.sha256, a.bytes);
    cb.artifacts.set(b.manifest.sha256, b.bytes);
    ca.assignment = liveOf("model-a", a, 1);
    cb.assignment = liveOf("model-b", b, 1);
    const store = memoryStore(); // the origin's one "driftline" database
    const ra = await createRuntime(base(ca, store, "model-a"));
    const rb = await createRuntime(base(cb, store, "model-b"));
    await tick(200);
    await ra.close();
    await rb.close();
    expect(await store.keys("models")).toContain(a.manifest.sha256);
    // the next page load, offline: model-a starts from what it kept
    ca.down = true;
    const again = await createRuntime(base(ca, store, "model-a")).then(
      (rt) => (void rt.close(), "ok"),
      (err: Error) => err.message,
    );
    expect(again).toBe("ok");
  });
});

describe("the update of a version loaded during the start", () => {
  it("reaches a handler the app adds once its (async) start-up function returned the runtime", async () => {
    const [v1, v2] = [churnModel("early", 0), churnModel("early", 1)];
    const c = collector();
    c.artifacts.set(v1.manifest.sha256, v1.bytes).set(v2.manifest.sha256, v2.bytes);
    const mem = memoryStore();
    c.assignment = liveOf("early", v1, 1);
    await (await createRuntime(base(c, mem, "early"))).close();
    let let2!: () => void;
    c.hold.set(v2.manifest.sha256, new Promise<void>((r) => (let2 = r)));
    c.assignment = liveOf("early", v2, 2);
    // the feedback ring's read held back: the start's last steps take a moment (a slow IndexedDB)
    let letRing!: () => void;
    const ringGate = new Promise<void>((r) => (letRing = r));
    const store: ModelStore = { ...mem, get: async (area, key) => (key.startsWith("ring:") && (await ringGate), mem.get(area, key)) };
    const { clock, fire, has } = manualClock();
    // the app's own start-up: an async function that returns the runtime
    const init = async () => {
      const rt = await createRuntime(base(c, store, "early", clock));
      return rt;
    };
    const starting = init();
    await until(() => has(TIMEOUT));
    fire(TIMEOUT);
    let2();
    await until(() => open.size >= 2); // v1 (kept) and v2 (new) both open
    await tick(50);
    letRing();
    const rt = await starting;
    const events: string[] = [];
    rt.on("update", (p) => events.push(JSON.stringify(p)));
    expect(rt.version).toBe("1");
    await until(() => rt.version === "2");
    await tick(50);
    await rt.close();
    expect(events).toEqual(['{"from":"1","to":"2"}']);
  });
});

describe("the kept version fails after the start stopped waiting for the new one", () => {
  it("starts on the new version once it loads, as the start did before (no start failure)", async () => {
    const { rt } = await keptV1(
      "kept-fails",
      async (c, store, v1) => {
        // the kept copy no longer hashes right, and the collector no longer serves v1
        await store.put("models", v1.manifest.sha256, new Uint8Array([1, 2, 3]));
        c.artifacts.delete(v1.manifest.sha256);
      },
      async (let2) => {
        await tick(300); // the kept version has failed by now
        let2();
      },
    ).catch((err: Error) => ({ rt: { version: `start failed: ${err.message}`, close: async () => {} } }));
    expect(rt.version).toBe("2");
    await rt.close();
    expect(open.size).toBe(0);
  });
});

describe("the collector's assignment names no model (a broken or hostile server's answer)", () => {
  it("the kept version serves, and the answer is counted as an error, as a version that fails to load", async () => {
    const v1 = churnModel("nameless", 0);
    const c = collector();
    c.artifacts.set(v1.manifest.sha256, v1.bytes);
    c.assignment = liveOf("nameless", v1, 1);
    const store = memoryStore();
    await (await createRuntime(base(c, store, "nameless"))).close();
    c.assignment = { version: 2, configVersion: 2 } as Assignment;
    const started = await createRuntime(base(c, store, "nameless")).then(
      async (rt) => {
        const errors: string[] = [];
        rt.on("error", (e) => errors.push(e.code));
        await tick(50);
        await rt.close();
        return { version: rt.version, errors };
      },
      (err: Error) => `start failed: ${err.message}`,
    );
    expect(started).toEqual({ version: "1", errors: ["internal"] });
  });
});

describe("the new version swapped in after the start, its shadow failing to load", () => {
  it("the assignment kept for the next (offline) start names the version that served", async () => {
    const v3 = churnModel("stale", 2);
    const { rt, store, let2 } = await keptV1("stale", async (c, _store, _v1) => {
      const a = c.assignment!;
      // v2 comes with a shadow v3 whose artifact the collector does not have
      c.assignment = { ...a, shadow: { version: 3, manifest: strip(v3, 3), sampleRate: 1 } } as Assignment;
    });
    let2();
    await until(() => rt.version === "2");
    await tick(200);
    await rt.close();
    expect((await store.get<Assignment>("meta", "assignment:stale"))?.version).toBe(2);
  });
});

describe("an event handler of the app's that throws", () => {
  it("does not stop the runtime applying later assignments", async () => {
    const { rt, c, v1, let2 } = await keptV1("throwing");
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    rt.on("update", () => {
      throw new Error("the app's bug");
    });
    let2();
    await until(() => rt.version === "2");
    // a rollback to v1: the next report's answer brings it
    c.assignment = liveOf("throwing", v1, 1, { configVersion: 3 });
    await (rt as never as { predict(r: unknown): Promise<unknown> }).predict(churnRows(1)[0]);
    await rt.flush();
    await until(() => rt.version === "1", 5_000);
    expect(logged).toHaveBeenCalledWith('driftline: a handler of "update" threw', expect.any(Error));
    logged.mockRestore();
    await rt.close();
  });
});

describe("the assignment kept for the next start", () => {
  it("is stored once per start, when its version serves", async () => {
    const v1 = churnModel("once", 0);
    const c = collector();
    c.artifacts.set(v1.manifest.sha256, v1.bytes);
    c.assignment = liveOf("once", v1, 1);
    const store = memoryStore();
    const stored: number[] = [];
    const put = store.put.bind(store);
    store.put = (name, key, value) => (key === "assignment:once" && stored.push((value as Assignment).version), put(name, key, value));
    for (const _ of [1, 2]) {
      const rt = await createRuntime(base(c, store, "once"));
      await tick(50);
      await rt.close();
    }
    expect(stored).toEqual([1, 1]);
  });
});
