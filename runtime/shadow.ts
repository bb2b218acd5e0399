import { ClassificationSketch } from "../protocol/sketch/prediction.ts";
import { NumericSketch } from "../protocol/sketch/numeric.ts";
import { LatencySketch } from "../protocol/sketch/latency.ts";
import { buildFeeds } from "./tensors.ts";
import { decodeOutputs, classLabels, type Decoded } from "./outputs.ts";
import { encodeSketch } from "./report-builder.ts";
import { releaseIfIdle, type Model } from "./model-loader.ts";
import type { Report, Row } from "./types.ts";

const MAX_PENDING = 256;
const idle = (fn: () => void) =>
  (globalThis as { requestIdleCallback?: (fn: () => void, o: object) => void }).requestIdleCallback?.(fn, { timeout: 2000 }) ?? setTimeout(fn, 0);

/**
 * A shadow version: runs on a sample of the live rows in idle time, never answers the app,
 * and sketches how it agrees with the live version (class agreement, score difference,
 * latency) for a report with role `shadow`.
 */
export class Shadow {
  private pending: Array<[Row, Decoded]> = [];
  private scheduled = false;
  private rows = 0;
  private agree = 0;
  private prediction: ClassificationSketch | NumericSketch;
  private delta = new NumericSketch();
  private latency = new LatencySketch();
  start: number;

  /**
   * @param model - the shadow version, loaded
   * @param sampleRate - fraction of live rows it runs on
   * @param now - start of the first period
   */
  constructor(
    readonly model: Model,
    readonly sampleRate: number,
    now: number,
  ) {
    const labels = classLabels(model.manifest);
    this.prediction = labels ? new ClassificationSketch(labels) : new NumericSketch();
    this.start = now;
  }

  /**
   * Offers live rows and their answers; a sample of them is queued for idle time.
   *
   * @param rows - rows the live version ran on
   * @param live - its decoded answers
   */
  offer(rows: Row[], live: Decoded[]): void {
    for (let i = 0; i < rows.length; i++) {
      if (this.pending.length < MAX_PENDING && Math.random() < this.sampleRate) this.pending.push([rows[i]!, live[i]!]);
    }
    if (this.pending.length && !this.scheduled) {
      this.scheduled = true;
      idle(() => void this.drain());
    }
  }

  /** Runs what is pending (also called by tests and `flush()`). */
  async drain(): Promise<void> {
    const batch = this.pending.splice(0);
    this.scheduled = false;
    const m = this.model;
    if (!batch.length || m.retired) return;
    m.inflight++;
    try {
      const rows = batch.map((b) => b[0]);
      const feeds = buildFeeds(m.ort, m.manifest, m.checks, rows, () => {});
      const t = performance.now();
      const out = await m.session.run(feeds);
      this.latency.update(m.backend, (performance.now() - t) / rows.length);
      decodeOutputs(m.manifest, out, rows.length).forEach((d, i) => {
        const live = batch[i]![1];
        this.rows++;
        if (d.cls !== undefined && d.cls === live.cls) this.agree++;
        if (d.score !== undefined && live.score !== undefined) this.delta.update(d.score - live.score);
        if (this.prediction instanceof ClassificationSketch) d.cls! >= 0 && this.prediction.update(d.cls!, d.score);
        else this.prediction.update(d.score);
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
   * @param now - end of the period
   */
  cut(head: Pick<Report, "id" | "model" | "version" | "client" | "segment">, now: number): Report | undefined {
    if (!this.rows) return undefined;
    const report: Report = {
      ...head,
      role: "shadow",
      start: this.start,
      end: now,
      rows: 0,
      sampleRate: this.sampleRate,
      features: {},
      shadow: {
        version: this.model.version,
        rows: this.rows,
        agree: this.agree,
        prediction: encodeSketch(this.prediction),
        delta: encodeSketch(this.delta),
        latency: encodeSketch(this.latency),
      },
    };
    const fresh = new Shadow(this.model, this.sampleRate, now);
    Object.assign(this, { rows: 0, agree: 0, start: now, prediction: fresh.prediction, delta: fresh.delta, latency: fresh.latency });
    return report;
  }
}
