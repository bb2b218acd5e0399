import { DEVICE_SEGMENT_KEY } from "../protocol/device-class.ts";
import { createApi } from "./api.ts";
import { readDeviceClass } from "./device-class.ts";
import { defaultStore } from "./model-store.ts";
import { defaultClock, defaultTransport } from "./transport.ts";
import { firstVersion } from "./first-version.ts";
import { Staging } from "./report-builder.ts";
import { QUEUE_BOUNDS, ReportQueue } from "./report-queue.ts";
import { FeedbackStore } from "./feedback.ts";
import type { MakeLog } from "./prediction-log.ts";
import { mediaModule, sdkOf } from "./media.ts";
import { canWebGpu, loadOrt } from "./ort-loader.ts";
import { callPath } from "./call-path.ts";
import { ReportSchedule } from "./report-schedule.ts";
import { Updates } from "./updates.ts";
import { openChannel } from "./push-channel.ts";
import { accOf, checkOpen, fail, inRange, type RuntimeState, type Settings } from "./runtime-state.ts";
import { DriftlineError } from "../protocol/errors.ts";
import { MAX_CLIENT_LENGTH, MAX_SEGMENT_VALUE_LENGTH, SEGMENT_KEY } from "../protocol/limits.ts";
import type { Assignment, BatchPrediction, RunResult, Runtime, RuntimeOptions } from "./types.ts";

const DEFAULTS = {
  backend: "auto",
  cache: true,
  segment: {},
  reportIntervalMs: 30_000,
  reportRows: 100_000,
  pollIntervalMs: 300_000,
  push: true,
  warmupRuns: 5,
  feedbackCapacity: 1000,
  deviceClass: true,
  timeoutMs: 15_000,
  transport: defaultTransport,
  clock: defaultClock,
} satisfies Partial<RuntimeOptions>;

/** Whether `c` is a client id the collector takes: a string of 1 to 128 characters. */
const isClient = (c: unknown): c is string => typeof c === "string" && c.length > 0 && c.length <= MAX_CLIENT_LENGTH;

/** 128 random bits as hex: report ids must never collide across the fleet. */
const randomId = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => (b + 256).toString(16).slice(1)).join("");

/**
 * Starts the runtime for one model: fetches the assignment (or, offline, uses the cached
 * one), loads the model from IndexedDB or the collector (SHA-256 verified), opens and warms
 * the session on the fastest backend, and starts reporting. With a version kept on the device,
 * a new one not loaded within `timeoutMs` is swapped in later (`update`), the kept one serving.
 *
 * @param options - collector, key, model and the optional settings of {@link RuntimeOptions}
 * @example
 * const rt = await createRuntime({ collector: "https://collector.example.com", key: "ing_…", model: "churn" });
 * const out = await rt.predict({ tenure: 12, plan: "pro" });
 */
export async function createRuntime(options: RuntimeOptions): Promise<Runtime> {
  // a mistake in the options fails here, not as the collector's answer to `Bearer undefined`
  if (!/^https?:\/\/./.test(options?.collector) || !options.key || !options.model) throw new DriftlineError("validation", "createRuntime needs collector (an http:// or https:// URL), key and model");
  // a segment the collector refuses would lose every report: refused here instead
  const segment = Object.entries(options.segment ?? {});
  if (segment.length > 5 || segment.some(([k, v]) => !SEGMENT_KEY.test(k) || typeof v !== "string" || v.length > MAX_SEGMENT_VALUE_LENGTH))
    throw new DriftlineError("validation", "segment: at most 5 keys (A-Z a-z 0-9 _ . -), each a string of at most 64 characters");
  if (options.client !== undefined && !isClient(options.client)) throw new DriftlineError("validation", "client: a string of 1 to 128 characters");
  // what the runtime times and sizes by: "abc" or -1 would stall or spin it, and a timer past
  // 2^31 - 1 ms fires at once
  for (const k of ["timeoutMs", "reportIntervalMs", "pollIntervalMs", "reportRows", "feedbackCapacity", "warmupRuns"] as const) {
    const v = options[k];
    if (v !== undefined && !inRange(v, +(k !== "warmupRuns"))) throw new DriftlineError("validation", `${k}: ${v} is out of range`);
  }
  const sdk = sdkOf(options.collector);
  const o = { ...DEFAULTS, ortUrl: `${sdk}ort/`, ...options } satisfies RuntimeOptions;
  const { clock, model: name } = o;
  // onnxruntime-web's checked download overlaps the start-up below when its build is known
  if (o.backend === "wasm" || (o.backend === "auto" && !canWebGpu())) loadOrt(o.ortUrl, false, o).catch(() => {});
  const store = (o.store ??= await defaultStore(o.cache));
  // prediction logging's module, only when allowed, loads beside the start-up too (from the store
  // or /sdk/); without it the runtime runs unlogged and says why
  const logging = o.logging ? mediaModule("logging", { sdk, given: o.media, timeoutMs: o.timeoutMs, store }).catch((err: unknown) => err) : undefined;
  const api = createApi(o.collector, o.key, o.transport, o.timeoutMs);
  // the options are this call's own copy: they double as the loader's context
  const settings: Settings = Object.assign(o, { api, store });
  // read beside the model's loading (the adapter may take a moment); reports are cut after both
  const device = o.deviceClass ? readDeviceClass() : undefined;
  const handlers = new Map<string, Set<(p: never) => void>>();
  // read together, and written only when new: a write would hold up the reads after it
  const readMeta = <T>(key: string) => store.get<T>("meta", key).catch(() => undefined);
  const [kept, stored] = await Promise.all([readMeta<string>("client"), readMeta<Assignment>(`assignment:${name}`)]);
  // a stored assignment without a model (another shape, or written by other script) is no assignment
  const cached = typeof stored?.manifest?.sha256 === "string" ? stored : undefined;
  // a stored client that is none (written by other script) would get every report refused
  const client = o.client ?? (isClient(kept) ? kept : randomId());
  if (client !== kept) void store.put("meta", "client", client).catch(() => {});
  // 64 random bits per runtime, then a counter: cheap, and unique across the fleet
  const feedback = new FeedbackStore(store, `ring:${name}`, o.feedbackCapacity, randomId().slice(0, 16));
  const feedbackLoaded = feedback.load();

  const { live, current, pending, failed } = await firstVersion(settings, client, cached);
  if (device) settings.segment = { ...o.segment, [DEVICE_SEGMENT_KEY]: await device };

  const idle = clock.idle?.bind(clock) ?? ((fn: () => void) => clock.setTimeout(fn, 0));
  const makeLog = await logging;
  const s: RuntimeState = {
    o: settings,
    client,
    live,
    shadow: undefined,
    current,
    closed: false,
    lastAnswer: clock.now(),
    accs: new Map(),
    // Sketching waits for idle time, so predict() costs little more than session.run.
    staging: new Staging(idle, () => s.current.sampleRate),
    feedback,
    log: typeof makeLog === "function" ? (makeLog as MakeLog)(store, `log:${name}`, api, { model: name, client }, randomId, (err) => s.emit("error", err), clock) : undefined,
    idle,
    // a handler of the app's that throws is reported, not thrown into the runtime (an update
    // would stop applying assignments for good)
    emit: (event, payload) =>
      handlers.get(event)?.forEach((h) => {
        try {
          (h as (p: typeof payload) => void)(payload);
        } catch (err) {
          console.error(`driftline: a handler of "${event}" threw`, err);
        }
      }),
  };
  accOf(s, live);
  await feedbackLoaded;
  await s.log?.load();

  const queue = new ReportQueue({
    store,
    api,
    clock,
    bounds: { ...QUEUE_BOUNDS, ...o.queue },
    newId: randomId,
    onAnswer: (answer) => {
      s.lastAnswer = clock.now();
      // answers carry a hint (no manifests): the full assignment is fetched when it moved
      if (answer.assignment && answer.assignment.configVersion !== s.current.configVersion) void updates.refresh();
    },
    onError: (err) => s.emit("error", err),
  });
  await queue.load(name);
  const schedule: ReportSchedule = new ReportSchedule(s, queue, randomId, () => updates.refresh());
  const updates: Updates = new Updates(s, { reschedule: () => schedule.schedule(), cutAll: () => schedule.cutAll() });
  // the start loaded the live version only: its shadow (and the new version still loading) next
  void updates.apply(pending?.assignment ?? current, pending?.loading);
  const call = callPath(s, () => void schedule.report());
  const closeChannel = o.push ? openChannel(s, () => void updates.refresh()) : () => {};

  let closing: Promise<void> | undefined;
  const runtime: Runtime = {
    predict: call as Runtime["predict"],
    predictColumns: (columns) => call(columns, undefined, true) as Promise<BatchPrediction>,
    run: (feeds) => call({}, feeds) as Promise<RunResult>,
    embed(vectors) {
      // after close() no report would carry them
      checkOpen(s);
      const m = s.live;
      if (!m.projector) throw new DriftlineError("unsupported", `version ${m.version} has no embedding`);
      const { length } = m.projector.config;
      if (!accOf(s, m).embed(m.projector, vectors, Math.max(1, Math.floor(vectors.length / length))))
        throw new DriftlineError("validation", `embed: ${vectors.length} values, not embeddings of ${length} finite numbers`);
    },
    async feedback(id, label) {
      checkOpen(s);
      const e = s.feedback.take(id, false);
      if (!e) return false;
      const m = [...s.accs.keys()].find((x) => x.version === e[0]);
      if (m) {
        const acc = accOf(s, m);
        const actual = acc.labels ? (typeof label === "number" ? label : acc.labels.indexOf(label)) : Number(label);
        try {
          acc.label(actual, acc.labels ? e[1] : e[2]);
        } catch {
          // not one of the labels: the prediction stays, for the label meant
          acc.error("validation");
          return false;
        }
      }
      s.feedback.take(id);
      s.log?.label(id, label);
      return !!m;
    },
    on(event, handler) {
      const set = handlers.get(event) ?? handlers.set(event, new Set()).get(event)!;
      set.add(handler as (p: never) => void);
      return () => set.delete(handler as (p: never) => void);
    },
    async flush() {
      await s.shadow?.drain();
      await schedule.cutAll();
      await queue.flush(true);
      await s.log?.flush(s.current.logRate ?? 0);
    },
    async close() {
      // a second close() resolves once the first's last report is sent, as the first does
      if (s.closed) return closing;
      // closed first: a call still in flight is answered `closed` rather than after the last report
      s.closed = true;
      await (closing = runtime.flush());
      closeChannel();
      schedule.schedule();
      queue.stop();
      s.log?.stop();
      removeEventListener?.("pagehide", onHide);
      removeEventListener?.("online", onOnline);
      for (const m of new Set([s.live, ...s.accs.keys(), s.shadow?.model])) if (m) updates.retire(m);
    },
    get version() {
      return String(s.live.version);
    },
    get backend() {
      return { name: s.live.backend, reason: s.live.reason };
    },
  };

  const onHide = () => {
    void schedule.cutAll(true);
    queue.beacon();
    s.log?.beacon(s.current.logRate ?? 0);
  };
  const onOnline = () => void queue.flush(true);
  const { addEventListener, removeEventListener } = globalThis as Partial<Pick<Window, "addEventListener" | "removeEventListener">>;
  addEventListener?.("pagehide", onHide);
  addEventListener?.("online", onOnline);
  schedule.schedule();
  clock.setTimeout(() => {
    if (failed) fail(s, failed);
    if (logging && !s.log) fail(s, makeLog);
    void queue.flush();
  }, 0);
  return runtime;
}
