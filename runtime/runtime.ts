import { DriftlineError, isDriftlineError } from "../protocol/errors.ts";
import { createApi } from "./api.ts";
import { defaultStore } from "./model-store.ts";
import { defaultClock, defaultTransport } from "./transport.ts";
import { loadModel, releaseIfIdle, type LoaderContext, type Model } from "./model-loader.ts";
import { buildFeeds, reuse, rowCount, type Encoded } from "./tensors.ts";
import { classLabels, decodeOutputs } from "./outputs.ts";
import { Accumulator, Staging } from "./report-builder.ts";
import { QUEUE_BOUNDS, ReportQueue } from "./report-queue.ts";
import { FeedbackStore } from "./feedback.ts";
import { Shadow } from "./shadow.ts";
import { runInTurn } from "./session-queue.ts";
import { canWebGpu, loadOrt } from "./ort-loader.ts";
import type { Assignment, BatchPrediction, Columns, Feeds, Prediction, Report, Row, RunResult, Runtime, RuntimeEvents, RuntimeOptions, Tensor } from "./types.ts";

const DEFAULTS = {
  backend: "auto",
  cache: true,
  segment: {},
  reportIntervalMs: 30_000,
  reportRows: 100_000,
  pollIntervalMs: 300_000,
  warmupRuns: 5,
  feedbackCapacity: 1000,
  shareUnseenCategories: false,
  timeoutMs: 15_000,
  transport: defaultTransport,
  clock: defaultClock,
} satisfies Partial<RuntimeOptions>;

/** Row `r` of a columnar batch, named (for the few rows a shadow samples). */
const rowOf = (columns: Columns, r: number): Row => Object.fromEntries(Object.entries(columns).map(([k, c]) => [k, c[r]]));

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
  // onnxruntime-web's checked download overlaps the start-up below when its build is known
  if (o.backend === "wasm" || (o.backend === "auto" && !canWebGpu())) loadOrt(o.ortUrl, false).catch(() => {});
  const store = (o.store ??= await defaultStore(o.cache));
  const api = createApi(o.collector, o.key, o.transport, o.timeoutMs);
  // the options are this call's own copy: they double as the loader's context
  const ctx: LoaderContext = Object.assign(o, { api, store });
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
  let deferred: unknown;
  let live: Model;
  try {
    live = await loadModel(ctx, current);
  } catch (err) {
    if (!cached || current === cached) throw err;
    deferred = err;
    live = await loadModel(ctx, (current = cached));
  }
  void store.put("meta", assignmentKey, current).catch(() => {});

  const accumulator = (m: Model) => new Accumulator(m.manifest, clock.now(), o.shareUnseenCategories);
  const accs = new Map<Model, Accumulator>([[live, accumulator(live)]]);
  const accOf = (m: Model) => accs.get(m) ?? accs.set(m, accumulator(m)).get(m)!;
  // 64 random bits per runtime, then a counter: cheap, and unique across the fleet
  const feedback = new FeedbackStore(store, `ring:${name}`, o.feedbackCapacity, randomId().slice(0, 16));
  const idle = clock.idle?.bind(clock) ?? ((fn: () => void) => clock.setTimeout(fn, 0));
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
    bounds: { ...QUEUE_BOUNDS, ...o.queue },
    newId: randomId,
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

  // Sketching waits for idle time, so predict() costs little more than session.run.
  const staging = new Staging(idle, () => current.sampleRate);
  /** Cuts every accumulator into the queue (synchronously, so it also works in `pagehide`). */
  const cutAll = () => {
    staging.fold();
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

  const load = async (a: Pick<Assignment, "version" | "manifest" | "artifactUrl">) => {
    const key = a.manifest.sha256;
    if ((failedUntil.get(key) ?? 0) > clock.now()) return undefined;
    try {
      return await loadModel(ctx, a);
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
        const next = await load(a);
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
        const next = want && (old?.model.version === want.version ? old.model : await load(want));
        if (want && !next) return;
        shadow = next ? new Shadow(next, want!.sampleRate, clock.now(), idle) : undefined;
        if (old && old.model !== next) retire(old.model);
      }
      const interval = current.reportIntervalMs;
      current = a;
      await store.put("meta", assignmentKey, a).catch(() => {});
      if (a.reportIntervalMs !== interval) schedule();
      await prune();
    }));

  /**
   * One call, in one async function (each extra one costs microtask turns): builds the feeds
   * from named rows or columns (or takes raw ones), runs, names the predictions, stages the call.
   * `columns`: the input is {@link Columns}, answered as a {@link BatchPrediction}.
   */
  const exec = async (input: Row | Row[] | Columns, raw?: Feeds, columns?: boolean): Promise<Prediction | Prediction[] | RunResult | BatchPrediction> => {
    if (closed) throw new DriftlineError("closed", "closed");
    const m = live;
    const acc = accOf(m);
    const many = Array.isArray(input);
    const rows = raw ? undefined : columns ? (input as Columns) : many ? input : [input as Row];
    let feeds: Record<string, Tensor> = {};
    let enc: Encoded | undefined;
    let n = 0;
    if (rows) {
      n = rowCount(m.plan, rows);
      const base = staging.take((m.plan.checks.length + 2) * n);
      try {
        enc = buildFeeds(m.ort, m.manifest, m.plan, rows, () => acc.error("validation"), staging.values, base);
      } catch (err) {
        staging.drop();
        throw err;
      }
      feeds = enc.feeds;
    } else for (const k in raw) {
      const t = raw[k]!;
      feeds[k] = t instanceof m.ort.Tensor ? t : new m.ort.Tensor(t.type as "float32", t.data as Float32Array, t.dims);
    }
    m.inflight++;
    let out;
    let ms;
    try {
      ({ out, ms } = await runInTurn(m.ort, m.session, feeds));
    } catch (err) {
      if (enc) staging.drop();
      const e = new DriftlineError("session", `run: ${(err as Error).message ?? err}`, err);
      fail(e, m);
      throw e;
    } finally {
      m.inflight--;
      releaseIfIdle(m);
    }
    if (enc) reuse(m.plan, enc);
    // raw feeds: as many rows as the first output has
    if (!rows) n = Number(out[m.manifest.outputs[0]!.name]?.dims[0] ?? 1) || 1;
    const base = enc?.base ?? staging.take(2 * n);
    const values = enc?.staged ?? staging.values;
    const width = enc ? m.plan.checks.length : 0;
    const at = base + width * n;
    const version = String(m.version);
    const preds = decodeOutputs(m.manifest, out, n, values, at, version, !columns);
    const id = feedback.name(preds, n, m.version, values, at);
    acc.rows += n;
    staging.add({ acc, n, staged: values, base, width, misses: enc?.misses, backend: m.backend, ms });
    if (rows && shadow) shadow.offer(n, columns ? (r) => rowOf(input as Columns, r) : (r) => (rows as Row[])[r]!, values, at);
    if (acc.rows >= (current.reportRows ?? o.reportRows)) void report();
    if (columns) {
      const classes = Int32Array.from(values.subarray(at, at + n));
      return { id, rows: n, classes, scores: values.slice(at + n, at + 2 * n), labels: classLabels(m.manifest), outputs: out, version };
    }
    return !rows ? { id: preds[0]!.id, outputs: out, version } : many ? preds : preds[0]!;
  };

  const runtime: Runtime = {
    predict: exec as Runtime["predict"],
    predictColumns: (columns) => exec(columns, undefined, true) as Promise<BatchPrediction>,
    run: (feeds) => exec([], feeds) as Promise<RunResult>,
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
    if (deferred) fail(deferred);
    void queue.flush();
  }, 0);
  return runtime;
}
