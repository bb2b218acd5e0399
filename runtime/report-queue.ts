import { DriftlineError } from "../protocol/errors.ts";
import { mergeDrafts, reviveDraft, toWire, type Draft } from "./draft.ts";
import type { Api, ApiError, ReportsAnswer } from "./api.ts";
import type { Clock, ModelStore, Report } from "./types.ts";

declare const __DRIFTLINE_STATE__: string | undefined;
/**
 * The layout of stored drafts: set per build by scripts/build.mjs (a hash of the sources, as
 * the minifier renames private fields), "dev" unbundled. A draft stored by another build is
 * not revived: its report is sent as stored, unmerged.
 */
const STATE = typeof __DRIFTLINE_STATE__ === "string" ? __DRIFTLINE_STATE__ : "dev";

/**
 * A queued report: `report` as it will be sent; while unsent, `draft` (the same report with
 * its sketches as objects) for merging. `sent` once it may have reached the collector (its
 * content is then frozen). Stored whole: IndexedDB keeps the draft as a structured clone.
 */
export interface QueueEntry {
  report: Report;
  draft?: Draft | undefined;
  /** The build that stored `draft`. */
  state?: string;
  sent: boolean;
}

/** Reports of the same stream and hour merge while unsent. */
const streamKey = (r: Report | Draft) =>
  [r.model, r.version, r.role, r.client, r.sampleRate, Math.floor(r.start / 3_600_000), JSON.stringify(r.segment)].join("|");

const BATCH_CHARS = 3_000_000;

/** Options of a {@link ReportQueue}. */
export interface QueueOptions {
  store: ModelStore;
  api: Api;
  clock: Clock;
  /** Called with each answer of the collector (it carries the assignment). */
  onAnswer(answer: ReportsAnswer): void;
  /** Called when reports were dropped or could not be sent. */
  onError(err: ApiError): void;
}

/**
 * Reports waiting for the collector, persisted in the store. Unsent reports of one stream
 * merge, so the queue stays bounded while offline; a report that may have reached the
 * collector keeps its id and content, so resending it is idempotent. Failures back off
 * exponentially with jitter and honour Retry-After.
 */
export class ReportQueue {
  readonly entries: QueueEntry[] = [];
  private attempts_ = 0;
  private notBefore_ = 0;
  private timer_: unknown;
  private sending_: Promise<void> | undefined;

  constructor(private readonly o_: QueueOptions) {}

  /** Loads the reports a previous page left in the store. */
  async load(): Promise<void> {
    for (const id of await this.o_.store.keys("queue")) {
      const e = await this.o_.store.get<QueueEntry>("queue", id);
      if (!e || this.entries.some((x) => x.report.id === id)) continue;
      if (e.draft && e.state === STATE) reviveDraft(e.draft);
      else e.draft = undefined;
      this.entries.push(e);
    }
  }

  /**
   * Queues a report, folding it into an unsent one of the same stream when there is one.
   *
   * @param draft - a freshly cut report (its sketches now belong to the queue)
   */
  add(draft: Draft): Promise<void> {
    const key = streamKey(draft);
    const open = this.entries.find((e) => !e.sent && e.draft && streamKey(e.draft) === key);
    if (open) {
      open.report = toWire(mergeDrafts(open.draft!, draft));
      return this.save_(open);
    }
    const entry: QueueEntry = { report: toWire(draft), draft, state: STATE, sent: false };
    this.entries.push(entry);
    return this.save_(entry);
  }

  private save_(e: QueueEntry): Promise<void> {
    return this.o_.store.put("queue", e.report.id, e).catch(() => {});
  }

  private async done_(batch: QueueEntry[]): Promise<void> {
    for (const e of batch) this.entries.splice(this.entries.indexOf(e), 1), await this.o_.store.delete("queue", e.report.id).catch(() => {});
  }

  private take_(): QueueEntry[] {
    const batch: QueueEntry[] = [];
    let chars = 0;
    for (const e of this.entries) {
      chars += JSON.stringify(e.report).length;
      if (batch.length && (batch.length >= 100 || chars > BATCH_CHARS)) break;
      batch.push(e);
    }
    return batch;
  }

  /**
   * Sends what is queued, one batch after another, unless offline or backing off.
   *
   * @param force - ignore the backoff (an explicit `flush()`)
   */
  flush(force = false): Promise<void> {
    if (force) this.notBefore_ = 0;
    return (this.sending_ ??= this.send_().finally(() => (this.sending_ = undefined)));
  }

  private async send_(): Promise<void> {
    const { clock, api } = this.o_;
    while (this.entries.length && clock.now() >= this.notBefore_ && globalThis.navigator?.onLine !== false) {
      const batch = this.take_();
      await this.sent_(batch);
      try {
        const answer = await api.reports(batch.map((e) => e.report));
        this.attempts_ = 0;
        await this.done_(batch);
        if (answer.rejected?.length) this.o_.onError(new DriftlineError("validation", `${answer.rejected.length} rejected`));
        this.o_.onAnswer(answer);
      } catch (e) {
        const err = e as ApiError;
        if (err.status && err.status < 500 && err.status !== 429 && err.status !== 408) {
          // the collector will never take these: keeping them would block the queue forever
          await this.done_(batch);
          this.o_.onError(err);
          continue;
        }
        // a 429 proves the batch was not taken, so its reports may merge again
        if (err.status === 429) for (const e of batch) e.sent = false;
        // 1 s, doubling, at most 5 min
        const backoff = Math.min(300_000, 1000 * 2 ** this.attempts_++);
        const wait = Math.max(err.retryAfter ?? 0, backoff * (0.5 + Math.random()));
        this.notBefore_ = clock.now() + wait;
        clock.clearTimeout(this.timer_);
        this.timer_ = clock.setTimeout(() => void this.flush(), wait);
        return;
      }
    }
  }

  /** Hands everything to `sendBeacon` as the page goes away; the reports stay queued until answered. */
  beacon(): void {
    const batch = this.take_();
    if (batch.length && globalThis.navigator?.onLine !== false && this.o_.api.beacon(batch.map((e) => e.report))) this.sent_(batch);
  }

  /** Marks a batch as possibly received: its reports no longer merge. */
  private sent_(batch: QueueEntry[]): Promise<unknown> {
    return Promise.all(batch.map((e) => !e.sent && ((e.sent = true), this.save_(e))));
  }

  /** Stops the retry timer. */
  stop(): void {
    this.o_.clock.clearTimeout(this.timer_);
  }
}
