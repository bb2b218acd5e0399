import { DriftlineError } from "../protocol/errors.ts";
import { MAX_REPORT_ROWS } from "../protocol/limits.ts";
import { ErrorCounts } from "../protocol/sketch/error-counts.ts";
import { mergeDrafts, toWire, type Draft } from "./draft.ts";
import { splitReport } from "./split-report.ts";
import type { Api, ApiError, ReportsAnswer } from "./api.ts";
import type { ReportBatch } from "../protocol/schema/report.ts";
import type { Clock, ModelStore, QueueBounds, Report } from "./types.ts";
import { holdAndAdopt } from "./web-locks.ts";

/**
 * A queued report: `report` as it will be sent; while unsent, and only in the page that cut it,
 * `draft` (the same report with its sketches as objects) for merging. `sent` once it may have
 * reached the collector (its content is then frozen). Stored without its draft: a draft's
 * sketches take up to ~40 times the report's characters, which the byte bound counts, and a
 * stored draft was merged into by every tab that loaded it, each under the report's one id.
 */
export interface QueueEntry {
  report: Report;
  draft?: Draft | undefined;
  sent: boolean;
  /** Characters of `report` as JSON: what the byte bound counts. */
  size?: number;
  /** In the store: the lock of the runtime that keeps it (`queue:<model>:<id>`). */
  owner?: string;
  /**
   * Without a draft: the rows `report` carries as `dropped` (other reports'), passed on when it is
   * dropped in turn (the runtime has no decoder for its error counts).
   */
  dropped?: number | undefined;
  /** When this runtime last changed it (a count): the beacon sends the last changed first. */
  changed?: number;
}

/** The bounds of the queue when the options give none (docs/runtime.md "Bounds"). */
export const QUEUE_BOUNDS: QueueBounds = { maxEntries: 64, maxBytes: 8_000_000, maxAgeMs: 86_400_000 };

/** A stream: reports of one model version, role, client, segment and sample rate (and shadow version). */
const streamOf = (r: Report | Draft) => [r.model, r.version, r.role, r.client, r.sampleRate, JSON.stringify(r.segment), r.shadow?.version].join("|");
const hourOf = (r: Report | Draft) => Math.floor(r.start / 3_600_000);
/** Characters of a report as JSON: what the byte bound counts. */
const sizeOf = (r: Report) => JSON.stringify(r).length;
/** Rows an entry carries as `dropped`. */
const droppedOf = (e: QueueEntry) => (e.draft ? ((e.draft.errors as ErrorCounts | undefined)?.counts.get("dropped") ?? 0) : (e.dropped ?? 0));
/** Rows a draft covers: a live report's, or its shadow's (a shadow report's `rows` are 0): each a report's at most. */
const rowsOf = (d: Draft) => d.rows + (d.shadow?.rows ?? 0);
/** Errors of every code a draft counts. */
const errorsOf = (d: Draft) => [...((d.errors as ErrorCounts | undefined)?.counts.values() ?? [])].reduce((a, b) => a + b, 0);
/** An entry that only carries error counts (of dropped rows): never dropped itself. */
const bare = ({ report: r }: QueueEntry) => !r.rows && !r.shadow && !r.prediction && !r.latency && !r.confusion && !r.residual && !Object.keys(r.features).length;
/** An entry the bounds may drop: unsent and not bare. */
const droppable = (e: QueueEntry) => !e.sent && !bare(e);

/** Characters a batch may hold: under the 1 MiB body nginx takes by default (`client_max_body_size`), a proxy a collector may sit behind. */
const BATCH_CHARS = 1_000_000;
const BATCH_REPORTS = 100;
/** Characters a page may beacon: its keepalive requests share 64 KiB (the logged rows' beacon takes what is left). */
const BEACON_CHARS = 60_000;
/**
 * Characters of sketches in each part of a report when it is frozen: a part's own fields fit beside
 * them in a beacon. The same as the page goes as at any other time, so a report the store kept whole
 * splits on the next page into the parts a beacon sent (the writes made in pagehide are lost).
 */
const BEACON_PART_CHARS = 50_000;

/** Options of a {@link ReportQueue}. */
export interface QueueOptions {
  store: ModelStore;
  api: Api;
  clock: Clock;
  bounds: QueueBounds;
  /** A new report id. */
  newId(): string;
  /** Called with each answer of the collector (it carries the assignment). */
  onAnswer(answer: ReportsAnswer): void;
  /** Called when reports were dropped or could not be sent. */
  onError(err: ApiError): void;
}

/**
 * Reports waiting for the collector, persisted in the store and bounded whatever fails.
 * Unsent reports of one stream and hour merge; at most one batch is in flight (sent and not
 * yet answered: its reports keep their ids and content, so resending is idempotent) and no
 * more is frozen until it is answered. Past `maxAgeMs`, `maxEntries` or `maxBytes` the oldest
 * reports are dropped and their rows counted as `dropped` errors in a report of their stream
 * that is still to be sent; so are the rows of reports the collector refuses for good. Failures
 * back off exponentially with jitter and honour Retry-After up to an hour; a 413 (a proxy's body
 * limit) sends the batch again in halves. Reports of more than 50,000 characters of sketches are split by features when frozen.
 */
export class ReportQueue {
  readonly entries: QueueEntry[] = [];
  private attempts_ = 0;
  private notBefore_ = 0;
  /** Characters a batch may hold: halved by each 413 (a proxy's body limit), down to one report a batch. */
  private batchChars_ = BATCH_CHARS;
  /** Changes made to entries so far: see {@link QueueEntry.changed}. */
  private changes_ = 0;
  private timer_: unknown;
  private sending_: Promise<void> | undefined;
  /** This runtime's lock, held while it runs: the owner of the entries it stores. */
  private own_ = "";
  private release_ = () => {};

  constructor(private readonly o_: QueueOptions) {}

  /**
   * Loads the reports of `model` that runtimes no longer running left in the store, into the
   * empty queue (once, as the start does: store keys are report ids, so none comes twice), and
   * makes them this runtime's (see runtime/web-locks.ts). Another running tab's reports are its
   * own: were they loaded, this runtime could send one that tab still adds rows to (those rows
   * then come as a duplicate id, and are lost) or drop it by age while that tab sends it (its
   * rows counted twice). So are other models' reports (a page with two models shares the store).
   * A loaded report is sent as stored and
   * merges nothing (it has no draft: a draft an earlier build stored is passed over too) and the
   * age limit never drops it (a beacon may have taken it; the size bounds do, as the queue must stay bounded across visits); dropped or refused, it counts its rows as
   * `dropped`, and those it carries as dropped (kept beside it, see {@link QueueEntry.dropped}), not its other error counts. An entry the store cannot read, or
   * that holds no report with features (written by other script, or corrupted), is passed over:
   * it would fail every start.
   *
   * @param model - the runtime's model
   */
  async load(model: string): Promise<void> {
    this.own_ = `queue:${model}:${this.o_.newId()}`;
    this.release_ = await holdAndAdopt(this.own_, `queue:${model}`, async (running) => {
      for (const id of await this.o_.store.keys("queue").catch(() => [])) {
        const e = await this.o_.store.get<QueueEntry>("queue", id).catch(() => {});
        if (e?.report?.model !== model || !e.report.features || running(e.owner)) continue;
        const entry = { report: e.report, sent: e.sent, size: e.size ?? sizeOf(e.report), dropped: e.dropped };
        this.entries.push(entry);
        await this.save_(entry);
      }
    });
    this.entries.sort((a, b) => a.report.start - b.report.start);
    await this.trim_();
  }

  /**
   * Queues a report, folding it into an unsent one of the same stream and hour when there is
   * one (and their rows stay within a report's), then drops what is past the bounds: as the page
   * goes, only the new report itself, by the size bounds. A stored report dropped then (by age: a
   * device asleep past `maxAgeMs` of a waiting report, closed as it wakes; or to make room) would be
   * deleted by a write the browser drops, and the next page would send it beside its rows' count in
   * the beacon: its rows counted twice.
   *
   * @param draft - a freshly cut report (its sketches now belong to the queue)
   * @param leaving - the page is going (`pagehide`)
   */
  async add(draft: Draft, leaving = false): Promise<void> {
    const open = this.open_(draft, (d) => hourOf(d) === hourOf(draft) && rowsOf(d) + rowsOf(draft) <= MAX_REPORT_ROWS && errorsOf(d) + errorsOf(draft) <= MAX_REPORT_ROWS);
    if (open) await this.set_(open, mergeDrafts(open.draft!, draft));
    else await this.push_(draft, true, leaving);
    await this.trim_(undefined, leaving);
  }

  /** The newest unsent, mergeable entry of `d`'s stream that `fits`. */
  private open_(d: Draft, fits: (open: Draft) => boolean): QueueEntry | undefined {
    const stream = streamOf(d);
    for (let i = this.entries.length; i--; ) {
      const e = this.entries[i]!;
      if (!e.sent && e.draft && streamOf(e.draft) === stream && fits(e.draft)) return e;
    }
    return undefined;
  }

  /**
   * Queues a new entry at once (a beacon in the same task sends it) and stores it; with
   * `makeRoom`, after trimming the others, so that the store never holds more than the bounds,
   * not even for a moment.
   */
  private async push_(draft: Draft, makeRoom = false, leaving = false): Promise<void> {
    const report = toWire(draft);
    const e: QueueEntry = { report, draft, sent: false, size: sizeOf(report), changed: ++this.changes_ };
    this.entries.push(e);
    if (makeRoom) await this.trim_(e, leaving);
    // another trim may have dropped it meanwhile (its rows counted as dropped): stored, the next page would send it
    if (this.entries.includes(e)) await this.save_(e);
  }

  private set_(e: QueueEntry, draft: Draft): Promise<void> {
    e.report = toWire(draft);
    e.size = sizeOf(e.report);
    e.changed = ++this.changes_;
    return this.save_(e);
  }

  private save_(e: QueueEntry): Promise<void> {
    return this.o_.store.put("queue", e.report.id, { ...e, draft: undefined, dropped: droppedOf(e), owner: this.own_ }).catch(() => {});
  }

  /** Takes entries out (at once, so concurrent trims never drop one twice) and deletes them from the store. */
  private remove_(batch: QueueEntry[]): Promise<unknown> {
    // (an entry in flight may have been dropped by age meanwhile)
    const gone = batch.filter((e) => this.entries.includes(e));
    this.entries.splice(0, Infinity, ...this.entries.filter((e) => !gone.includes(e)));
    return Promise.all(gone.map((e) => this.o_.store.delete("queue", e.report.id).catch(() => {})));
  }

  /**
   * Drops unsent entries past the age limit (all but bare and loaded ones; a frozen one is sent
   * until answered: the collector may hold it already, its answer lost), then the oldest unsent
   * ones, loaded ones too, while the queue holds more than `maxEntries` entries or `maxBytes`
   * characters — all but `keep`, a new entry about to be stored. Each is checked again as its
   * turn comes (a flush may have sent it while a drop before it waited on the store). As the page
   * goes, only `keep` itself, by the size bounds: a stored entry's delete would be lost, and the
   * next page would send it beside its rows' count in the beacon (the store, which the writes made
   * then never reach, stays within the bounds as it is).
   */
  private async trim_(keep?: QueueEntry, leaving = false): Promise<void> {
    const { maxEntries, maxBytes, maxAgeMs } = this.o_.bounds;
    const over = () => this.entries.length > maxEntries || this.entries.reduce((n, e) => n + e.size!, 0) > maxBytes;
    if (leaving) return keep && over() && droppable(keep) ? this.drop_(keep, true) : undefined;
    const old = this.o_.clock.now() - maxAgeMs;
    // by age only those this page cut (with a draft): a loaded one may have reached the collector
    // although stored unsent (its page's write of `sent` lost in pagehide, after a beacon took it)
    for (const e of this.entries.filter((e) => e.report.end < old && e.draft && droppable(e))) if (droppable(e)) await this.drop_(e);
    for (const e of this.entries.filter((e) => droppable(e) && e !== keep)) if (over() && droppable(e)) await this.drop_(e);
  }

  /**
   * Drops an entry: its rows (none for a continuation part) are counted as `dropped` and its
   * error counts kept (only its `dropped` count when a report could not hold them all beside its
   * rows), in an unsent report of its stream, else in a new bare one of its period;
   * as the page goes, always a new one (see {@link carry_}).
   */
  private async drop_(e: QueueEntry, leaving = false): Promise<void> {
    // the carrier is queued before the store's delete is awaited: a beacon meanwhile takes its counts
    const queued = this.entries.includes(e);
    const deleting = this.remove_([e]);
    if (!queued) return;
    await this.carry_(e, leaving);
    await deleting;
  }

  /**
   * Queues the counts of dropped `e` (its delete from the store, issued before, lands first: the
   * store runs its writes in order). As the page goes, in a new bare report of its period: the
   * beacon, last changed first, takes that small report before an older one it could fill up on
   * (its save is lost: only the beacon can take the counts).
   */
  private async carry_(e: QueueEntry, leaving = false): Promise<void> {
    const { model, version, role, client, segment, sampleRate, start, end, part, rows } = e.report;
    // its error counts go along while a report may hold them beside its rows (the collector refuses
    // more); else, and without a draft (loaded, or split), only the rows it carried as dropped,
    // counted nowhere else
    const keep = e.draft && errorsOf(e.draft) + rows <= MAX_REPORT_ROWS;
    const errors = (keep && (e.draft!.errors as ErrorCounts | undefined)) || new ErrorCounts();
    const n = (part ? 0 : rows) + (keep ? 0 : droppedOf(e));
    if (n) errors.update("dropped", n);
    if (!errors.counts.size) return;
    const carrier: Draft = { id: this.o_.newId(), model, version, role, client, segment, sampleRate, start, end, rows: 0, features: {}, errors };
    const into = leaving ? undefined : this.open_(carrier, (d) => errorsOf(d) + errorsOf(carrier) <= MAX_REPORT_ROWS);
    if (!into) return this.push_(carrier);
    // only the counts move: the report keeps its own period
    const d = into.draft!;
    d.errors = d.errors ? (d.errors as ErrorCounts).merge(errors) : errors;
    await this.set_(into, d);
  }

  /**
   * Freezes the next batch when none is in flight: unsent entries, oldest first, at most a
   * quarter of `maxEntries` (at least one) and one batch's characters; a report of more than
   * {@link BEACON_PART_CHARS} of sketches becomes its parts (see {@link splitReport}). As the page
   * goes, every unsent entry, also beside a batch in flight (the report cut then, the newest, is
   * saved nowhere: only a beacon can take it).
   *
   * @param leaving - the page is going
   */
  private freeze_(leaving?: boolean): Promise<unknown> {
    if (!leaving && this.entries.some((e) => e.sent)) return Promise.resolve();
    const most = Math.max(1, this.o_.bounds.maxEntries >> 2);
    const saves: Array<Promise<void>> = [];
    let chars = 0;
    let n = 0;
    for (const e of this.entries.filter((e) => !e.sent)) {
      if (!leaving && n && (n >= most || chars + e.size! > BATCH_CHARS)) break;
      const [first, ...rest] = splitReport(e.report, BEACON_PART_CHARS);
      n += 1 + rest.length;
      chars += e.size!;
      e.sent = true;
      if (rest.length) {
        // parts cannot merge again: the entry keeps no draft (only the rows it carries as dropped)
        e.report = first!;
        e.dropped = droppedOf(e);
        e.draft = undefined;
        const parts = rest.map((report) => ({ report, sent: true, size: sizeOf(report), changed: e.changed }));
        this.entries.splice(this.entries.indexOf(e) + 1, 0, ...parts);
        saves.push(...parts.map((p) => this.save_(p)));
        e.size = sizeOf(e.report);
      }
      saves.push(this.save_(e));
    }
    return Promise.all(saves);
  }

  /** The frozen entries to send next: at most one request's worth. */
  private batch_(): QueueEntry[] {
    const batch: QueueEntry[] = [];
    let chars = 0;
    for (const e of this.entries) {
      if (!e.sent) continue;
      chars += e.size!;
      if (batch.length && (batch.length >= BATCH_REPORTS || chars > this.batchChars_)) break;
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
      await this.freeze_();
      const batch = this.batch_();
      if (!batch.length) return;
      try {
        const answer = await api.reports(this.body_(batch));
        this.attempts_ = 0;
        const [first, ...more] = answer.rejected ?? [];
        // the rows of a report the collector refused are counted nowhere else: as dropped
        for (const e of batch) await (answer.rejected?.some((r) => r.id === e.report.id) && !bare(e) ? this.drop_(e) : this.remove_([e]));
        if (first) this.o_.onError(new DriftlineError("validation", `${more.length + 1} rejected: ${first.code}: ${first.message}`));
        this.o_.onAnswer(answer);
      } catch (e) {
        const err = e as ApiError;
        // too large for a proxy on the way: the same reports in smaller batches
        if (err.status === 413 && batch.length > 1) {
          this.batchChars_ = batch.reduce((n, e) => n + e.size!, 0) >> 1;
          continue;
        }
        if (err.status && err.status < 500 && err.status !== 429 && err.status !== 408) {
          // the collector will never take these (keeping them would block the queue forever): their
          // rows are counted as dropped, in a report that carries only counts; such a report refused
          // in turn is let go, so a collector that refuses everything (a revoked key) ends the loop
          for (const e of batch) await (bare(e) ? this.remove_([e]) : this.drop_(e));
          this.o_.onError(err);
          continue;
        }
        // 1 s, doubling, at most 5 min; a Retry-After past an hour (a proxy's) waits an hour
        const backoff = Math.min(300_000, 1000 * 2 ** this.attempts_++);
        const wait = Math.min(3_600_000, Math.max(err.retryAfter ?? 0, backoff * (0.5 + Math.random())));
        this.notBefore_ = clock.now() + wait;
        clock.clearTimeout(this.timer_);
        // forced: the wall clock set back meanwhile must not hold the retry back by as much
        this.timer_ = clock.setTimeout(() => void this.flush(true), wait);
        return;
      }
    }
  }

  /**
   * Hands frozen reports to `sendBeacon` as the page goes away, as many as fit in
   * {@link BEACON_CHARS}: the page's keepalive requests share 64 KiB, and a larger beacon is
   * refused whole. Those frozen now go first, the last changed first (a report's parts in order), then
   * a batch in flight: the report cut now is saved nowhere (stored ones go with the next page too),
   * and is split into parts that fit, so its first part (rows, predictions and the first features)
   * goes even when the whole would not. They stay queued until answered.
   */
  beacon(): void {
    if (globalThis.navigator?.onLine === false) return;
    const inFlight = this.entries.filter((e) => e.sent);
    void this.freeze_(true);
    let room = BEACON_CHARS;
    // the last changed first, not the latest `end`: the clock may have been set back since the stored
    // ones were cut (or be an app's own); a stable sort: a report's parts share its change
    const frozenNow = this.entries.filter((e) => e.sent && !inFlight.includes(e)).sort((a, b) => (b.changed ?? 0) - (a.changed ?? 0));
    const batch = [...frozenNow, ...inFlight].filter((e) => e.size! <= room && (room -= e.size!) >= 0);
    if (batch.length) this.o_.api.beacon("/v1/reports", JSON.stringify(this.body_(batch)));
  }

  /**
   * A batch's body: its reports, and the device's wall clock as they are sent (`Date.now`, not
   * the `clock` option: reports an app dates by a clock of its own, a backfill or a simulation,
   * keep their times; those dated by a device clock that is off are moved by the collector).
   */
  private body_(batch: QueueEntry[]): ReportBatch {
    return { reports: batch.map((e) => e.report), sentAt: Date.now() };
  }

  /** Stops the retry timer, and leaves what is still queued to the next runtime of the model. */
  stop(): void {
    this.o_.clock.clearTimeout(this.timer_);
    this.release_();
  }
}
