// The parts of createRuntime on their own (issue 14 item 5): updates and swaps (runtime/updates.ts),
// the report schedule (runtime/report-schedule.ts) and the rollout channel (runtime/push-channel.ts, on a
// stand-in WebSocket), on a runtime state with stub versions
// (no session runs here: the call path is covered by node.test.ts and the browser tests, but for
// a race with an update, on a stub session whose run answers when the test says).
import { describe, expect, it, vi } from "vitest";
import { DriftlineError } from "../../../protocol/errors.ts";
import { FeedbackStore } from "../../../runtime/feedback.ts";
import { copyingStore } from "../../fixtures/page-stores.ts";
import { memoryStore } from "../../../runtime/model-store.ts";
import type { Model } from "../../../runtime/model-loader.ts";
import { Staging } from "../../../runtime/report-builder.ts";
import type { ReportQueue } from "../../../runtime/report-queue.ts";
import { openChannel } from "../../../runtime/push-channel.ts";
import { ReportSchedule } from "../../../runtime/report-schedule.ts";
import { accOf, type RuntimeState, type Settings } from "../../../runtime/runtime-state.ts";
import { Updates } from "../../../runtime/updates.ts";
import { callPath } from "../../../runtime/call-path.ts";
import { compile } from "../../../runtime/validate.ts";
import type { Assignment, Clock } from "../../../runtime/types.ts";
import { churnModel } from "../../fixtures/runtime-models.ts";

/**
 * A clock whose time and timers move only when the test says. A delay is taken as browsers take
 * it (a WebIDL long: no number, negative or past 2^31 − 1 is 0).
 */
function manualClock() {
  let now = 1_000_000;
  const timers = new Map<number, { at: number; fn: () => void }>();
  let next = 1;
  const clock: Clock = {
    now: () => now,
    setTimeout: (fn, ms) => (timers.set(next, { at: now + Math.max(0, Number(ms) | 0), fn }), next++),
    clearTimeout: (t) => void timers.delete(t as number),
    idle: () => {},
  };
  const advance = async (ms: number) => {
    now += ms;
    for (const [t, { at, fn }] of [...timers]) if (at <= now) timers.delete(t), fn();
    await new Promise((r) => setTimeout(r, 0));
  };
  return { clock, advance, pending: () => timers.size };
}

const { profile: _p, ...manifest } = churnModel("parts").manifest;
const assignment = (version: number, extra: Partial<Assignment> = {}): Assignment =>
  ({ model: "parts", version, manifest: { ...manifest, version }, sampleRate: 1, configVersion: version, ...extra }) as Assignment;

function stubModel(version: number, released: number[]): Model {
  return {
    version,
    manifest,
    plan: compile(manifest),
    media: undefined,
    projector: undefined,
    tensors: undefined,
    derived: [],
    inflight: 0,
    backend: "wasm",
    reason: "option",
    ort: {} as never,
    session: { release: async () => void released.push(version) } as never,
  };
}

function state(clock: Clock, events: string[]) {
  const store = memoryStore();
  const released: number[] = [];
  const s: RuntimeState = {
    o: {
      collector: "http://c",
      key: "k",
      model: "parts",
      clock,
      store,
      api: { assignment: async () => assignment(2) } as never,
      backend: "wasm",
      ortUrl: "",
      warmupRuns: 0,
      cache: false,
      segment: {},
      reportIntervalMs: 30_000,
      reportRows: 100_000,
      pollIntervalMs: 300_000,
      feedbackCapacity: 10,
      shareUnseenCategories: false,
      timeoutMs: 15_000,
    } as Settings,
    client: "c1",
    live: stubModel(1, released),
    shadow: undefined,
    current: assignment(1),
    closed: false,
    lastAnswer: clock.now(),
    accs: new Map(),
    staging: new Staging(
      () => {},
      () => 1,
    ),
    feedback: new FeedbackStore(store, "ring", 10, "p"),
    log: undefined,
    idle: () => {},
    emit: (event, payload) => events.push(`${event} ${payload instanceof DriftlineError ? payload.code : JSON.stringify(payload)}`),
  };
  accOf(s, s.live);
  return { s, released, store };
}

describe("runtime/updates.ts", () => {
  it("swaps in a new version once loaded and releases the old one, with an update event", async () => {
    const { clock } = manualClock();
    const events: string[] = [];
    const { s, released, store } = state(clock, events);
    const updates = new Updates(s, { reschedule: () => {}, cutAll: async () => {} }, async (_, a) => stubModel(a.version, released));
    await updates.apply(assignment(2));
    expect(s.live.version).toBe(2);
    expect(released).toEqual([1]);
    expect(events).toEqual(['update {"from":"1","to":"2"}']);
    expect(((await store.get<Assignment>("meta", "assignment:parts")) as Assignment).version).toBe(2);
  });

  it("stores each applied assignment once", async () => {
    const { clock } = manualClock();
    const { s, released, store } = state(clock, []);
    const stored: number[] = [];
    const put = store.put.bind(store);
    store.put = (name, key, value) => (key === "assignment:parts" && stored.push((value as Assignment).version), put(name, key, value));
    const updates = new Updates(s, { reschedule: () => {}, cutAll: async () => {} }, async (_, a) => stubModel(a.version, released));
    await updates.apply(assignment(2));
    await updates.apply({ ...assignment(2), reportIntervalMs: 60_000 });
    expect(stored).toEqual([2, 2]);
  });

  it("keeps serving when a version fails to load, counts the error, and tries it again only after a minute", async () => {
    const { clock, advance } = manualClock();
    const events: string[] = [];
    const { s } = state(clock, events);
    let loads = 0;
    const updates = new Updates(s, { reschedule: () => {}, cutAll: async () => {} }, async () => {
      loads++;
      throw new DriftlineError("integrity", "not signed");
    });
    await updates.apply(assignment(2));
    await updates.apply(assignment(2));
    expect([s.live.version, loads, events]).toEqual([1, 1, ["error integrity"]]);
    expect(accOf(s, s.live).errors.counts.get("integrity")).toBe(1);
    await advance(60_001);
    await updates.apply(assignment(2));
    expect(loads).toBe(2);
  });
  it("applies the assignments after one it cannot read (a broken or hostile server's answer), counting that one as an error", async () => {
    const { clock } = manualClock();
    const events: string[] = [];
    const { s, released } = state(clock, events);
    const updates = new Updates(s, { reschedule: () => {}, cutAll: async () => {} }, async (_, a) => stubModel(a.version, released));
    const unreadable = [{ version: 2, configVersion: 2 }, { ...assignment(1), shadow: { version: 3, sampleRate: 1 } }, null];
    const outcomes: string[] = [];
    for (const a of [...unreadable, assignment(4)])
      outcomes.push(
        await updates.apply(a as Assignment).then(
          () => "applied",
          (err: Error) => `rejected: ${err.message}`,
        ),
      );
    expect({ outcomes, live: s.live.version, events }).toEqual({
      outcomes: ["applied", "applied", "applied", "applied"],
      live: 4,
      events: ["error internal", "error internal", "error internal", 'update {"from":"1","to":"4"}'],
    });
  });
});

describe("runtime/report-schedule.ts", () => {
  it("cuts and sends every report interval, follows the assignment's interval, and polls when no answer came", async () => {
    const { clock, advance } = manualClock();
    const { s } = state(clock, []);
    const added: unknown[] = [];
    let flushes = 0;
    let polls = 0;
    const queue = { add: async (r: unknown) => void added.push(r), flush: async () => void flushes++ } as unknown as ReportQueue;
    const schedule = new ReportSchedule(
      s,
      queue,
      () => "id",
      async () => void polls++,
    );
    accOf(s, s.live).rows = 3;
    schedule.schedule();
    await advance(29_999);
    expect(flushes).toBe(0);
    await advance(1);
    expect([added.length, flushes, polls]).toEqual([1, 1, 0]);
    expect(added[0]).toMatchObject({ id: "id", model: "parts", version: 1, role: "live", client: "c1", rows: 3 });
    s.current = assignment(1, { reportIntervalMs: 5_000 });
    schedule.schedule();
    await advance(5_000);
    expect(flushes).toBe(2);
    await advance(300_000);
    expect(polls).toBe(1);
    s.closed = true;
    schedule.schedule();
    await advance(60_000);
    expect(flushes).toBe(3);
  });
});

describe("runtime/call-path.ts", () => {
  it("reports the rows of a call on a version retired while it ran, also when they take its report past the rows a report may cover", async () => {
    const { clock } = manualClock();
    const { s } = state(clock, []);
    s.current = assignment(1, { reportRows: 1_000_000 });
    const drafts: Array<{ version: number; rows: number }> = [];
    const queue = { add: async (d: { version: number; rows: number }) => void drafts.push(d), flush: async () => {} } as unknown as ReportQueue;
    const schedule = new ReportSchedule(
      s,
      queue,
      () => "id",
      async () => {},
    );
    // a session whose runs answer when the test says: 3 classes a row
    let answer = () => {};
    const run = (feeds: Record<string, { dims: number[] }>) =>
      new Promise((resolve) => {
        const n = feeds.features!.dims[0]!;
        answer = () => resolve({ probabilities: { data: new Float32Array(3 * n).fill(1 / 3), dims: [n, 3] } });
      });
    const ort = {
      Tensor: class {
        constructor(
          readonly type: string,
          readonly data: unknown,
          readonly dims: number[],
        ) {}
      },
    };
    Object.assign(s.live, { ort, session: { run, release: async () => {} } });
    const call = callPath(s, () => void schedule.cutAll());
    const columns = (n: number) => ({ tenure: new Float64Array(n).fill(12), charges: new Float64Array(n).fill(50), age: new Float64Array(n).fill(30), plan: Array<string>(n).fill("pro") });
    const first = call(columns(600_000), undefined, true);
    answer();
    await first;
    // a call of 500,000 rows under way as an update swaps version 2 in and retires version 1
    const second = call(columns(500_000), undefined, true);
    const updates = new Updates(s, { reschedule: () => {}, cutAll: async () => {} });
    const old = s.live;
    s.live = { ...old, version: 2, inflight: 0 };
    updates.retire(old);
    answer();
    await second;
    await schedule.cutAll();
    expect(drafts.filter((d) => d.version === 1).map((d) => d.rows)).toEqual([600_000, 500_000]);
  });
});

describe("runtime/report-schedule.ts, a broken or hostile collector's assignment", () => {
  it("keeps the option's report interval when the assignment's is under a second, past 2^31 − 1 ms or no number", async () => {
    for (const reportIntervalMs of [0, -5, 2 ** 31, "abc", 999]) {
      const { clock, advance } = manualClock();
      const { s } = state(clock, []);
      let flushes = 0;
      const queue = { add: async () => {}, flush: async () => void flushes++ } as unknown as ReportQueue;
      const schedule = new ReportSchedule(
        s,
        queue,
        () => "id",
        async () => {},
      );
      s.current = assignment(1, { reportIntervalMs: reportIntervalMs as number });
      schedule.schedule();
      // on the code before, a report at every step (in a browser every ~4 ms), each writing the
      // feedback ring to IndexedDB
      for (let t = 0; t < 10_000; t += 100) await advance(100);
      s.closed = true;
      schedule.schedule();
      expect({ reportIntervalMs, flushes }).toEqual({ reportIntervalMs, flushes: 0 });
    }
  });
});

describe("runtime/feedback.ts", () => {
  it("passes over a stored ring that is none (written by other script of the origin), so feedback() still answers", async () => {
    for (const stored of [{ prefix: "" }, { prefix: "x", data: [1, 2] }, "ring", null]) {
      const store = memoryStore();
      await store.put("meta", "ring:x", stored);
      const feedback = new FeedbackStore(store, "ring", 10, "p");
      await feedback.load();
      // on the code before: "Cannot read properties of undefined (reading 'length')" and the like
      expect(() => feedback.take("p1.0")).not.toThrow();
      expect(feedback.take("x1.0")).toBeUndefined();
    }
  });

  it("joins a label after a reload to a prediction of any of the last pages, two tabs of one model too", async () => {
    const store = memoryStore();
    const staged = Float64Array.of(1, 0.9);
    let now = Date.now();
    /** A page that makes one prediction and saves its ring (with its report), a second after the last; its prediction's id. */
    const page = async (prefix: string) => {
      vi.setSystemTime((now += 1000));
      const feedback = new FeedbackStore(store, "ring:churn", 10, prefix);
      await feedback.load();
      const id = `${feedback.name([], 1, 1, staged, 0)}0`;
      await feedback.save();
      return id;
    };
    try {
      // two tabs side by side, then a page after a reload of one of them
      const ids = [await page("a"), await page("b"), await page("c")];
      const reloaded = new FeedbackStore(store, "ring:churn", 10, "d");
      await reloaded.load();
      // before: only the ring the last page saved ("c") was read, the others' labels found nothing
      expect(ids.map((id) => reloaded.take(id))).toEqual(ids.map(() => [1, 1, 0.9]));
      // rings are kept by when they were saved: the newest three a page loads, and the page's own
      for (const prefix of ["e", "f", "g", "h"]) await page(prefix);
      expect((await store.keys("meta")).sort()).toEqual(["ring:churn:e", "ring:churn:f", "ring:churn:g", "ring:churn:h"]);
    } finally {
      vi.useRealTimers();
    }
  });

  // before e6cfcfb a loaded ring's forgetting lived only in the page that took it (IndexedDB hands
  // out copies), and the ring stayed stored until three newer ones were: "expected [ 1, 1, 0.9 ] to be undefined"
  it("joins a label once across reloads: a page that joined an earlier page's prediction leaves it joined for the next pages", async () => {
    const store = copyingStore();
    const page = async (prefix: string) => {
      const feedback = new FeedbackStore(store, "ring:churn", 10, prefix);
      await feedback.load();
      return feedback;
    };
    const first = await page("a");
    const id = `${first.name([], 1, 1, Float64Array.of(1, 0.9), 0)}0`;
    await first.save();
    const second = await page("b");
    expect(second.take(id)).toEqual([1, 1, 0.9]);
    await second.save();
    // the app gives the label again after the next reload (it did not see the first answer), and again after one more
    const third = await page("c");
    expect(third.take(id)).toBeUndefined();
    await third.save();
    expect((await page("d")).take(id)).toBeUndefined();
  });

  it("keeps the ring of the page before a reload after the clock was set back", async () => {
    const store = memoryStore();
    const page = async (prefix: string, at: number) => {
      vi.setSystemTime(at);
      const feedback = new FeedbackStore(store, "ring:churn", 10, prefix);
      await feedback.load();
      const id = `${feedback.name([], 1, 1, Float64Array.of(1, 0.9), 0)}0`;
      await feedback.save();
      return id;
    };
    try {
      const t = Date.UTC(2026, 5, 1, 12);
      for (const [i, prefix] of ["a", "b", "c"].entries()) await page(prefix, t + i * 1000);
      // the device's clock is set back an hour (by hand, or by the network's time)
      const id = await page("d", t - 3_600_000);
      vi.setSystemTime(t - 3_500_000);
      const reloaded = new FeedbackStore(store, "ring:churn", 10, "e");
      await reloaded.load();
      expect(reloaded.take(id)).toEqual([1, 1, 0.9]);
    } finally {
      vi.useRealTimers();
    }
  });

  it("keeps the newest rings when a stored ring's savedAt is NaN or Infinity (other script's)", async () => {
    for (const savedAt of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const store = memoryStore();
      await store.put("meta", "ring:churn:c", { prefix: "c", data: new Float64Array(40), savedAt });
      try {
        for (const [i, prefix] of ["k", "m", "q", "s"].entries()) {
          vi.setSystemTime(Date.UTC(2026, 5, 1) + i * 1000);
          const feedback = new FeedbackStore(store, "ring:churn", 10, prefix);
          await feedback.load();
          await feedback.save();
        }
      } finally {
        vi.useRealTimers();
      }
      await new FeedbackStore(store, "ring:churn", 10, "z").load();
      // the odd ring is passed over (left, as other records that are none); before, NaN kept k and
      // deleted m and q, and Infinity took one of the three places for good
      expect({ savedAt, kept: (await store.keys("meta")).sort() }).toEqual({ savedAt, kept: ["ring:churn:c", "ring:churn:m", "ring:churn:q", "ring:churn:s"] });
    }
  });

  it("joins a label when a stored ring of other script's has a prefix that begins the page's ids", async () => {
    const store = memoryStore();
    const first = new FeedbackStore(store, "ring:churn", 10, "ab12");
    const id = `${first.name([], 1, 1, Float64Array.of(1, 0.9), 0)}0`;
    await first.save();
    await store.put("meta", "ring:churn:x", { prefix: "a", data: new Float64Array(40), savedAt: Number.MAX_VALUE });
    const reloaded = new FeedbackStore(store, "ring:churn", 10, "cd34");
    await reloaded.load();
    expect(reloaded.take(id)).toEqual([1, 1, 0.9]);
  });

  it("passes over a stored ring whose prefix is a RegExp (other script's), so take() does not throw", async () => {
    const store = memoryStore();
    await store.put("meta", "ring:churn:x", { prefix: /a/, data: new Float64Array(40), savedAt: 1 });
    const reloaded = new FeedbackStore(store, "ring:churn", 10, "cd34");
    await reloaded.load();
    expect(() => reloaded.take("ab121.0")).not.toThrow();
  });
});

describe("runtime/push-channel.ts", () => {
  it("takes a message that is not the collector's (a proxy's page, null) without throwing into the page, and follows the next one", () => {
    const sockets: Array<{ onmessage?: (e: { data: unknown }) => void }> = [];
    vi.stubGlobal(
      "WebSocket",
      class {
        onmessage?: (e: { data: unknown }) => void;
        constructor() {
          sockets.push(this);
        }
        close() {}
      },
    );
    const { clock } = manualClock();
    const { s } = state(clock, []);
    let refreshes = 0;
    const close = openChannel(s, () => refreshes++);
    const thrown: string[] = [];
    for (const data of ["<html>502 Bad Gateway</html>", "null", '{"configVersion":7}'])
      try {
        sockets[0]!.onmessage!({ data });
      } catch (err) {
        // in a page: an uncaught error (window.onerror, the app's error monitoring)
        thrown.push((err as Error).message);
      }
    const pushed = s.pushed;
    close();
    vi.unstubAllGlobals();
    expect({ thrown, pushed, refreshes }).toEqual({ thrown: [], pushed: 7, refreshes: 1 });
  });
});

describe("runtime/report-builder.ts Staging", () => {
  it("reuses its buffer once it fills the cap with no call in flight: the calls waiting are sketched, and the next region starts at 0 of the same buffer", () => {
    const staging = new Staging(
      () => {},
      () => 1,
    );
    let folded = 0;
    const acc = { fold: () => folded++ } as never;
    const call = (len: number) => {
      const base = staging.take(len);
      staging.add({ acc, n: 1, staged: staging.values, base, width: 0, misses: undefined, backend: "wasm", ms: 1 });
      return base;
    };
    // 100,000 values, then 100,000 more: the buffer grows to its cap of 131,072 values
    call(100_000);
    call(100_000);
    const full = staging.values;
    expect(full.length).toBe(1 << 17);
    // the cap is full and no call is in flight: what waits is sketched, and the buffer is reused
    const base = call(100_000);
    expect({ folded, base, same: staging.values === full }).toEqual({ folded: 2, base: 0, same: true });
  });
});
