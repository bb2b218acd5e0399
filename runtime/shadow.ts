import { NumericSketch } from "../protocol/sketch/numeric.ts";
import { buildFeeds } from "./tensors.ts";
import { OUTPUT_COLUMNS, decodeOutputs, entropyAt, probabilitiesOf } from "./outputs.ts";
import { Accumulator } from "./report-builder.ts";
import type { Draft } from "./draft.ts";
import { releaseIfIdle, type Model } from "./model-loader.ts";
import { runInTurn } from "./session-queue.ts";
import type { Report, Row } from "./types.ts";

const MAX_PENDING = 256;

/**
 * A shadow version: runs on a sample of the live rows in idle time, never answers the app,
 * and sketches how it agrees with the live version (class agreement, score difference,
 * latency) for a report with role `shadow`. Its sketches live in an {@link Accumulator}:
 * `prediction`, `latency`, and the score difference in `residual`.
 */
export class Shadow {
  /** Sampled rows and the live class and score of each. */
  private pending_: Array<[Row, number, number]> = [];
  private agree_ = 0;
  private acc_!: Accumulator;
  /** The run under way: a drain waits for it, so a cut after `flush()`'s drain holds its rows. */
  private running_ = Promise.resolve();

  /**
   * @param model - the shadow version, loaded
   * @param sampleRate - fraction of live rows it runs on
   * @param now - start of the first period
   * @param idle_ - runs a function when the thread is idle
   */
  constructor(
    readonly model: Model,
    readonly sampleRate: number,
    now: number,
    private readonly idle_: (fn: () => void) => void,
  ) {
    this.reset_(now);
  }

  private reset_(now: number): void {
    this.agree_ = 0;
    (this.acc_ = new Accumulator(this.model.manifest, now, false, this.model.derived)).residual = new NumericSketch();
  }

  /**
   * Offers live rows and their answers; a sample of them is queued for idle time.
   *
   * @param n - rows the live version ran on
   * @param row - row `r` of them, named
   * @param staged - the live classes from `staged[at]` on, then the scores
   * @param at - where in `staged`
   */
  offer(n: number, row: (r: number) => Row, staged: Float64Array, at: number): void {
    const p = this.pending_;
    const was = p.length;
    for (let r = 0; r < n; r++) if (p.length < MAX_PENDING && Math.random() < this.sampleRate) p.push([row(r), staged[at + r]!, staged[at + n + r]!]);
    if (!was && p.length) this.idle_(() => void this.drain());
  }

  /** Runs what is pending after the run under way (also called by tests and `flush()`). */
  drain(): Promise<void> {
    return (this.running_ = this.running_.then(() => this.run_()));
  }

  private async run_(): Promise<void> {
    const batch = this.pending_.splice(0);
    const m = this.model;
    const n = batch.length;
    if (!n || m.retired) return;
    m.inflight++;
    try {
      const rows = batch.map((b) => b[0]);
      const enc = buildFeeds(m.ort, m.manifest, m.plan, rows, () => {});
      await m.media?.fill(m.ort, rows, enc, m.plan.checks.length);
      const { feeds, staged } = enc;
      const at = staged.length - OUTPUT_COLUMNS * n;
      const { out, ms } = await runInTurn(m.ort, m.session, feeds);
      const acc = this.acc_;
      acc.latency.update(m.backend, ms / n);
      decodeOutputs(m.manifest, out, n, staged, at, "", false);
      const values = probabilitiesOf(m.manifest, out);
      const probs = values && { values, at: 0, perRow: values.length / n };
      batch.forEach(([, cls, score], r) => {
        const c = staged[at + r]!;
        const s = staged[at + n + r]!;
        acc.rows++;
        if (c >= 0 && c === cls) this.agree_++;
        // NaN: one of the two versions has no score
        if (s === s && score === score) acc.addResidual(s - score);
        acc.add(c, s, entropyAt(probs, r));
      });
    } catch {
      // a row the shadow's schema rejects, or a shadow that fails, must never touch the app
    } finally {
      m.inflight--;
      releaseIfIdle(m);
    }
  }

  /**
   * The shadow report since the last cut (undefined when it ran on nothing); resets.
   *
   * @param head - id, model, live version, client, segment
   * @param now - end of the period (its start if the clock was set back since)
   */
  cut(head: Pick<Report, "id" | "model" | "version" | "client" | "segment">, now: number): Draft | undefined {
    const { rows, start, prediction, residual, latency } = this.acc_;
    if (!rows) return undefined;
    const report: Draft = {
      ...head,
      role: "shadow",
      start,
      // the clock may have been set back since the period started
      end: Math.max(now, start),
      rows: 0,
      sampleRate: this.sampleRate,
      features: {},
      shadow: {
        version: this.model.version,
        rows,
        agree: this.agree_,
        prediction,
        delta: residual!,
        latency,
      },
    };
    this.reset_(now);
    return report;
  }
}
