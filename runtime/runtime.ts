import { DriftlineError, isDriftlineError } from "../protocol/errors.ts";
import { createApi } from "./api.ts";
import { defaultStore } from "./model-store.ts";
import { defaultClock, defaultTransport } from "./transport.ts";
import { loadModel, releaseIfIdle, type LoaderContext, type Model } from "./model-loader.ts";
import { buildFeeds } from "./tensors.ts";
import { decodeOutputs, type Decoded } from "./outputs.ts";
import { Accumulator } from "./report-builder.ts";
import { ReportQueue } from "./report-queue.ts";
import { FeedbackStore } from "./feedback.ts";
import { Shadow } from "./shadow.ts";
import type { Assignment, Feeds, Prediction, Report, Row, Runtime, RuntimeEvents, RuntimeOptions, Tensor } from "./types.ts";

const DEFAULTS = {
  backend: "auto",
  cache: true,
  segment: {},
  reportIntervalMs: 30_000,
  reportRows: 100_000,
  pollIntervalMs: 300_000,
  warmupRuns: 5,
  feedbackCapacity: 1000,
  timeoutMs: 15_000,
  transport: defaultTransport,
  clock: defaultClock,
} satisfies Partial<RuntimeOptions>;

/** 128 random bits as hex: report ids must never collide across the fleet. */
const randomId = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => (b + 256).toString(16).slice(1)).join("");

/**
 * Starts the runtime for one model: fetches the assignment (or, offline, uses the cached
 * one), loads the model from IndexedDB or the collector (SHA-256 verified), opens and warms
 * the session on the fastest backend, and starts reporting.
 *
 * @param options - collector, key, model and the optional settings of {@link RuntimeOptions}
 * @example
 * const rt = await createRuntime({ collector: "https://collector.example.com", key: "ing_…", model: "churn" });
 * const out = await rt.predict({ tenure: 12, plan: "pro" });
 */
export async function createRuntime(options: RuntimeOptions): Promise<Runtime> {
  const o = { ...DEFAULTS, ortUrl: `${options.collector.replace(/\/+$/, "")}/sdk/ort/`, ...options } satisfies RuntimeOptions;
  const { clock, model: name } = o;
  const store = o.store ?? (await defaultStore(o.cache));
  const api = createApi(o.collector, o.key, o.transport, o.timeoutMs);
  const ctx: LoaderContext = { api, store, backend: o.backend, ortUrl: o.ortUrl, warmupRuns: o.warmupRuns };
  const client = o.client ?? (await store.get<string>("meta", "client").catch(() => undefined)) ?? randomId();
  void store.put("meta", "client", client).catch(() => {});
  const handlers = new Map<string, Set<(p: never) => void>>();
  const emit = <E extends keyof RuntimeEvents>(event: E, payload: RuntimeEvents[E]) =>
    handlers.get(event)?.forEach((h) => (h as (p: RuntimeEvents[E]) => void)(payload));
  const assignmentKey = `assignment:${name}`;

  // Offline (or the collector down), the assignment last served still names a cached model.
  const cached = await store.get<Assignment>("meta", assignmentKey).catch(() => undefined);
  const fresh = await api.assignment(name, client).catch((err) => {
    if (!cached) throw err;
  });
  let current = fresh ?? cached!;
  const deferred: DriftlineError[] = [];
  let live: Model;
  try {
    live = await loadModel(ctx, current.version, current.manifest, current.artifactUrl);
  } catch (err) {
    if (!cached || current === cached) throw err;
    deferred.push(err as DriftlineError);
    current = cached;
    live = await loadModel(ctx, current.version, current.manifest, current.artifactUrl);
  }
  void store.put("meta", assignmentKey, current).catch(() => {});

  const accs = new Map<Model, Accumulator>([[live, new Accumulator(live.manifest, clock.now())]]);
  const accOf = (m: Model) => accs.get(m) ?? accs.set(m, new Accumulator(m.manifest, clock.now())).get(m)!;
  const feedback = new FeedbackStore(store, `feedback:${name}`, o.feedbackCapacity, randomId().slice(0, 10));
  await feedback.load();
  let shadow: Shadow | undefined;
  let closed = false;
  let lastAnswer = clock.now();
  let timer: unknown;
  const failedUntil = new Map<string, number>();

  const fail = (err: unknown, m: Model = live) => {
    const e = isDriftlineError(err) ? err : new DriftlineError("internal", String(err), err);
    accOf(m).error(e.code);
    emit("error", e);
  };

  const queue = new ReportQueue({
    store,
    api,
    clock,
    onAnswer: (answer) => {
      lastAnswer = clock.now();
      // answers carry a hint (no manifests): the full assignment is fetched when it moved
      if (answer.assignment && answer.assignment.configVersion !== current.configVersion) void refresh();
    },
    onError: (err) => emit("error", err),
  });
  await queue.load();

  const head = (m: Model, role: Report["role"]) => ({
    id: randomId(),
    model: name,
    version: m.version,
    role,
    client,
    segment: { ...o.segment, backend: m.backend, backendReason: m.reason },
    sampleRate: current.sampleRate,
  });

  // Sketching waits for the next task, so predict() costs little more than session.run.
  const pending: Array<[Accumulator, Array<Row | undefined>, Decoded[]]> = [];
  const sketchPending = () => {
    const rate = current.sampleRate;
    for (const [acc, rows, decoded] of pending.splice(0)) {
      decoded.forEach((d, i) => (rate >= 1 || Math.random() < rate) && acc.sample(rows[i], d));
    }
  };
  /** Cuts every accumulator into the queue (synchronously, so it also works in `pagehide`). */
  const cutAll = () => {
    sketchPending();
    const now = clock.now();
    const adds: Array<Promise<void>> = [];
    for (const [m, acc] of accs) {
      const r = acc.cut(head(m, "live"), now);
      if (r) adds.push(queue.add(r));
      if (m.retired && !m.inflight) accs.delete(m);
    }
    const s = shadow?.cut(head(live, "shadow"), now);
    if (s) adds.push(queue.add(s));
    adds.push(feedback.save());
    return Promise.all(adds);
  };

  const report = async () => {
    await cutAll();
    await queue.flush();
  };

  const schedule = () => {
    clock.clearTimeout(timer);
    if (closed) return;
    timer = clock.setTimeout(async () => {
      await report();
      if (clock.now() - lastAnswer >= o.pollIntervalMs) await refresh();
      schedule();
    }, current.reportIntervalMs ?? o.reportIntervalMs);
  };

  const load = async (version: number, manifest: Assignment["manifest"], url?: string) => {
    const key = manifest.sha256;
    if ((failedUntil.get(key) ?? 0) > clock.now()) return undefined;
    try {
      return await loadModel(ctx, version, manifest, url);
    } catch (err) {
      failedUntil.set(key, clock.now() + 60_000);
      fail(err);
      return undefined;
    }
  };

  const retire = (m: Model) => {
    m.retired = true;
    releaseIfIdle(m);
  };

  const prune = async () => {
    const keep = new Set([live.manifest.sha256, shadow?.model.manifest.sha256, ...[...accs.keys()].map((m) => m.manifest.sha256)]);
    for (const sha of await store.keys("models").catch(() => [])) if (!keep.has(sha)) await store.delete("models", sha).catch(() => {});
  };

  const refresh = () =>
    api.assignment(name, client).then(
      (a) => ((lastAnswer = clock.now()), apply(a)),
      () => {},
    );

  let applying = Promise.resolve();
  /** Serialised, so two answers never load the same version twice. */
  const apply = (a: Assignment) =>
    (applying = applying.then(async () => {
      if (closed) return;
      if (a.version !== live.version) {
        const next = await load(a.version, a.manifest, a.artifactUrl);
        if (!next) return;
        const old = live;
        accOf(next);
        live = next;
        retire(old);
        emit(next.version < old.version ? "rollback" : "update", { from: String(old.version), to: String(next.version) });
      }
      const want = a.shadow;
      if (want?.version !== shadow?.model.version || want?.sampleRate !== shadow?.sampleRate) {
        const old = shadow;
        if (old) void cutAll();
        const next = want && (old?.model.version === want.version ? old.model : await load(want.version, want.manifest, want.artifactUrl));
        if (want && !next) return;
        shadow = next ? new Shadow(next, want!.sampleRate, clock.now()) : undefined;
        if (old && old.model !== next) retire(old.model);
      }
      const interval = current.reportIntervalMs;
      current = a;
      await store.put("meta", assignmentKey, a).catch(() => {});
      if (a.reportIntervalMs !== interval) schedule();
      await prune();
    }));

  const exec = async (m: Model, feeds: Record<string, Tensor>) => {
    m.inflight++;
    const t = performance.now();
    try {
      return await m.session.run(feeds);
    } catch (err) {
      throw new DriftlineError("session", `run failed: ${(err as Error).message ?? err}`, err);
    } finally {
      accOf(m).latency.update(m.backend, performance.now() - t);
      m.inflight--;
      releaseIfIdle(m);
    }
  };

  const account = (m: Model, rows: Array<Row | undefined>, decoded: Decoded[]) => {
    const acc = accOf(m);
    acc.rows += decoded.length;
    if (pending.push([acc, rows, decoded]) === 1) clock.setTimeout(sketchPending, 0);
    else if (pending.length > 256) sketchPending();
    if (acc.rows >= (current.reportRows ?? o.reportRows)) void report();
    return decoded.map((d) => feedback.remember(m.version, d.cls ?? -1, d.score ?? NaN));
  };

  const guard = (m: Model) => {
    if (closed) throw new DriftlineError("closed", "runtime closed");
    return m;
  };

  async function predict(row: Row): Promise<Prediction>;
  async function predict(rows: Row[]): Promise<Prediction[]>;
  async function predict(input: Row | Row[]): Promise<Prediction | Prediction[]> {
    const m = guard(live);
    const rows = Array.isArray(input) ? input : [input];
    let out;
    try {
      const feeds = buildFeeds(m.ort, m.manifest, m.checks, rows, () => accOf(m).error("validation"));
      out = await exec(m, feeds);
    } catch (err) {
      if ((err as DriftlineError).code !== "validation") fail(err, m);
      throw err;
    }
    const decoded = decodeOutputs(m.manifest, out, rows.length);
    const ids = account(m, rows, decoded);
    shadow?.offer(rows, decoded);
    const version = String(m.version);
    const preds = decoded.map((d, i): Prediction => ({ id: ids[i]!, outputs: d.outputs, label: d.label, score: d.score, version }));
    return Array.isArray(input) ? preds : preds[0]!;
  }

  const runtime: Runtime = {
    predict,
    async run(feeds: Feeds) {
      const m = guard(live);
      const tensors = Object.fromEntries(
        Object.entries(feeds).map(([k, t]) => [k, t instanceof m.ort.Tensor ? t : new m.ort.Tensor(t.type as "float32", t.data as Float32Array, t.dims)]),
      );
      const out = await exec(m, tensors).catch((err) => {
        fail(err, m);
        throw err;
      });
      const first = out[m.manifest.outputs[0]!.name];
      const n = Number(first?.dims[0] ?? 1) || 1;
      const ids = account(m, [], decodeOutputs(m.manifest, out, n));
      return { id: ids[0]!, outputs: out, version: String(m.version) };
    },
    async feedback(id, label) {
      const e = feedback.take(id);
      const m = e && [...accs.keys()].find((x) => x.version === e[0]);
      if (!m) return false;
      const acc = accOf(m);
      const actual = acc.labels ? (typeof label === "number" ? label : acc.labels.indexOf(label)) : Number(label);
      try {
        acc.label(actual, acc.labels ? e[1] : e[2]);
        return true;
      } catch (err) {
        acc.error("validation");
        return false;
      }
    },
    on(event, handler) {
      const set = handlers.get(event) ?? handlers.set(event, new Set()).get(event)!;
      set.add(handler as (p: never) => void);
      return () => set.delete(handler as (p: never) => void);
    },
    async flush() {
      await shadow?.drain();
      await cutAll();
      await queue.flush(true);
    },
    async close() {
      if (closed) return;
      await runtime.flush();
      closed = true;
      clock.clearTimeout(timer);
      queue.stop();
      removeEventListener?.("pagehide", onHide);
      removeEventListener?.("online", onOnline);
      for (const m of new Set([live, ...accs.keys(), shadow?.model])) if (m) retire(m);
    },
    get version() {
      return String(live.version);
    },
    get backend() {
      return { name: live.backend, reason: live.reason };
    },
  };

  const onHide = () => {
    void cutAll();
    queue.beacon();
  };
  const onOnline = () => void queue.flush(true);
  const { addEventListener, removeEventListener } = globalThis as Partial<Pick<Window, "addEventListener" | "removeEventListener">>;
  addEventListener?.("pagehide", onHide);
  addEventListener?.("online", onOnline);
  schedule();
  clock.setTimeout(() => {
    deferred.forEach((e) => fail(e));
    void queue.flush();
  }, 0);
  return runtime;
}
