import type { Report } from "./types.ts";
import type { Model } from "./model-loader.ts";
import type { ReportQueue } from "./report-queue.ts";
import { inRange, type RuntimeState } from "./runtime-state.ts";

/**
 * When and what the runtime reports: every report interval (the assignment's when it is a
 * whole second or more, else the option's) it cuts every accumulator and the shadow into the queue and flushes it, and asks
 * for the assignment when no answer brought one for `pollIntervalMs` while the rollout channel
 * (runtime/push-channel.ts) is not open, and every interval while the channel sent a config
 * version the applied assignment is not of (its fetch failed).
 */
export class ReportSchedule {
  private timer_: unknown;

  /**
   * @param s_ - the runtime's state
   * @param queue_ - where cut reports go
   * @param newId_ - a new report id
   * @param poll_ - asks the collector for the assignment
   */
  constructor(
    private readonly s_: RuntimeState,
    private readonly queue_: ReportQueue,
    private readonly newId_: () => string,
    private readonly poll_: () => Promise<void>,
  ) {}

  /** A report's head for version `m` in `role`. */
  private head_(m: Model, role: Report["role"]) {
    const { o, client, current } = this.s_;
    return { id: this.newId_(), model: o.model, version: m.version, role, client, segment: { ...o.segment, backend: m.backend, backendReason: m.reason }, sampleRate: current.sampleRate };
  }

  /**
   * Cuts every accumulator and the shadow into the queue (synchronously, so it also works in `pagehide`), and saves the feedback ring.
   *
   * @param leaving - the page is going: the queue drops no stored report ({@link ReportQueue.add})
   */
  cutAll(leaving = false): Promise<unknown> {
    const s = this.s_;
    s.staging.fold();
    const now = s.o.clock.now();
    const adds: Array<Promise<void>> = [];
    for (const [m, acc] of s.accs) {
      const r = acc.cut(this.head_(m, "live"), now);
      if (r) adds.push(this.queue_.add(r, leaving));
      if (m.retired && !m.inflight) s.accs.delete(m);
    }
    const shadowReport = s.shadow?.cut(this.head_(s.live, "shadow"), now);
    if (shadowReport) adds.push(this.queue_.add(shadowReport, leaving));
    adds.push(s.feedback.save());
    if (s.log) adds.push(s.log.save());
    return Promise.all(adds);
  }

  /** Cuts and sends, and sends the logged rows. */
  async report(): Promise<void> {
    await this.cutAll();
    await this.queue_.flush();
    await this.s_.log?.flush(this.s_.current.logRate ?? 0);
  }

  /** (Re)starts the timer for the next report; after closing, stops it. */
  schedule(): void {
    const { o, closed, current } = this.s_;
    const ms = inRange(current.reportIntervalMs, 1000) ? current.reportIntervalMs : o.reportIntervalMs;
    o.clock.clearTimeout(this.timer_);
    if (closed) return;
    this.timer_ = o.clock.setTimeout(async () => {
      await this.report();
      const s = this.s_;
      if (s.pushed === undefined ? o.clock.now() - s.lastAnswer >= o.pollIntervalMs : s.pushed !== s.current.configVersion) await this.poll_();
      this.schedule();
    }, ms);
  }
}
