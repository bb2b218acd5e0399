import { DriftlineError } from "../protocol/errors.ts";
import { MAX_REPORT_ROWS } from "../protocol/limits.ts";
import { releaseIfIdle } from "./model-loader.ts";
import { asTensor, buildFeeds, reuse, rowCount, type Encoded } from "./tensors.ts";
import { OUTPUT_COLUMNS, classLabels, decodeOutputs, probabilitiesOf } from "./outputs.ts";
import { runInTurn } from "./session-queue.ts";
import { accOf, checkOpen, fail, inRange, type RuntimeState } from "./runtime-state.ts";
import type { BatchPrediction, Columns, Feeds, Prediction, Row, RunResult, Tensor } from "./types.ts";

/** Refuses a call of more rows than a report may cover: the collector refuses such a report, its rows lost, uncounted. */
const checkRows = (n: number) => {
  if (n > MAX_REPORT_ROWS) throw new DriftlineError("validation", `${n} rows: at most ${MAX_REPORT_ROWS} a call`);
};

/** Row `r` of a columnar batch, named (for the few rows a shadow samples). */
const rowOf = (columns: Columns, r: number): Row => Object.fromEntries(Object.entries(columns).map(([k, c]) => [k, c[r]]));

/** One call: named rows (one or a batch), columns, or raw feeds. */
export type Call = (input: Row | Row[] | Columns, raw?: Feeds, columns?: boolean) => Promise<Prediction | Prediction[] | RunResult | BatchPrediction>;

/**
 * The call path of `predict()`, `predictColumns()` and `run()`: builds the feeds from named rows
 * or columns (or takes raw ones), runs the live version in its turn, names the predictions,
 * remembers them for feedback, stages the call for sketching in idle time and offers its rows to
 * the shadow. One async function per call (each extra one costs microtask turns).
 *
 * @param s - the runtime's state
 * @param onRows - cuts a report: called when the live version's rows since the last report reach
 *   `reportRows`, and before a call's rows would take them past `MAX_REPORT_ROWS`
 * @returns the call; `columns`: the input is {@link Columns}, answered as a {@link BatchPrediction}
 */
export function callPath(s: RuntimeState, onRows: () => void): Call {
  const { staging, feedback } = s;
  return async (input, raw, columns) => {
    checkOpen(s);
    const many = Array.isArray(input);
    // an empty batch: nothing to check, run or count (a media model's preprocessing would refuse it)
    if (many && !input.length) return [];
    const m = s.live;
    let acc = accOf(s, m);
    const rows = raw ? undefined : columns ? (input as Columns) : many ? input : [input as Row];
    let feeds: Record<string, Tensor> = {};
    let enc: Encoded | undefined;
    let n = 0;
    let out;
    let ms;
    // in flight from here, not from the run: a version retired (or the runtime closed) while a
    // media fill awaits the app's encoder keeps its session for this call
    m.inflight++;
    try {
      if (rows) {
        if (columns && m.media) throw new DriftlineError("unsupported", "predictColumns() takes tabular models: predict() rows");
        checkRows((n = rowCount(m.plan, rows)));
        const base = staging.take((m.plan.width + OUTPUT_COLUMNS) * n);
        try {
          enc = buildFeeds(m.ort, m.manifest, m.plan, rows, () => acc.error("validation"), staging.values, base);
          // buildFeeds counts its own violations; a media value the fill refuses is counted here
          // (a tabular model awaits nothing: an `await` of undefined still costs a turn)
          if (m.media)
            await m.media.fill(m.ort, rows as Row[], enc, m.plan.checks.length).catch((err: DriftlineError) => {
              if (err.code === "validation") acc.error("validation");
              throw err;
            });
        } catch (err) {
          staging.drop();
          throw err;
        }
        feeds = enc.feeds;
      } else for (const k in raw) feeds[k] = asTensor(m.ort, raw[k]!);
      try {
        ({ out, ms } = await runInTurn(m.ort, m.session, feeds));
      } catch (err) {
        if (enc) staging.drop();
        const e = new DriftlineError("session", `run: ${(err as Error).message ?? err}`, err);
        fail(s, e, m);
        throw e;
      }
    } finally {
      m.inflight--;
      releaseIfIdle(m);
    }
    // closed meanwhile: its last report is cut, so the call is answered `closed`, its rows uncounted
    if (s.closed) {
      if (enc) staging.drop();
      checkOpen(s);
    }
    if (enc) reuse(m.plan, enc);
    // raw feeds: as many rows as the first output has (known once run)
    if (!rows) checkRows((n = Number(out[m.manifest.outputs[0]!.name]?.dims[0] ?? 1) || 1));
    // a report covers at most MAX_REPORT_ROWS rows (the collector refuses more): cut before this
    // call's, then the version's accumulator taken again (the cut lets a retired version's go)
    if (acc.rows + n > MAX_REPORT_ROWS) {
      onRows();
      acc = accOf(s, m);
    }
    if (!rows && m.tensors) acc.describe(m.tensors.describe({ ...feeds, ...out }), s.current.sampleRate);
    const base = enc?.base ?? staging.take(OUTPUT_COLUMNS * n);
    const values = enc?.staged ?? staging.values;
    const width = enc ? m.plan.width : 0;
    const at = base + width * n;
    const version = String(m.version);
    // run() answers the tensors: no per-row predictions to build
    const preds = decodeOutputs(m.manifest, out, n, values, at, version, !columns && !!rows);
    const id = feedback.name(preds, n, m.version, values, at);
    const logRate = s.log && rows && s.current.logRate;
    // row r as the app gave it, for the shadow and the prediction log (made only when one wants it)
    const rowAt = rows && (s.shadow || logRate) ? (columns ? (r: number) => rowOf(input as Columns, r) : (r: number) => (rows as Row[])[r]!) : undefined;
    if (logRate) s.log!.offer(m, logRate, s.o.clock.now(), { ...s.o.segment, backend: m.backend, backendReason: m.reason }, id, rowAt!, n, values, at, classLabels(m.manifest));
    const embeddingOutput = m.projector && m.manifest.embedding!.output;
    if (embeddingOutput) acc.embed(m.projector!, out[embeddingOutput]?.data as ArrayLike<number> | undefined, n);
    acc.rows += n;
    staging.add({ acc, n, staged: values, base, width, misses: enc?.misses, backend: m.backend, ms }, probabilitiesOf(m.manifest, out));
    if (rowAt && s.shadow) s.shadow.offer(n, rowAt, values, at);
    const most = s.current.reportRows;
    if (acc.rows >= (inRange(most, 1) ? most : s.o.reportRows)) onRows();
    if (columns) {
      // a plain loop: `Int32Array.from` walks an iterator
      const classes = new Int32Array(n);
      for (let r = 0; r < n; r++) classes[r] = values[at + r]!;
      return { id, rows: n, classes, scores: values.slice(at + n, at + 2 * n), labels: classLabels(m.manifest), outputs: out, version };
    }
    return !rows ? { id: `${id}0`, outputs: out, version } : many ? preds : preds[0]!;
  };
}
