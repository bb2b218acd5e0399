import type { DriftlineError } from "../protocol/errors.ts";
import { MAX_LOG_AGE_MS, MAX_LOG_BATCH_BYTES, MAX_LOG_ROWS_PER_BATCH, MAX_LOG_VALUE_LENGTH, MAX_REPORT_ROWS } from "../protocol/limits.ts";
import type { LogBatch, LogLabel, LogRow } from "../protocol/schema/prediction-log.ts";
import type { Api, ApiError } from "./api.ts";
import type { Model } from "./model-loader.ts";
import type { Clock, ModelStore, Row } from "./types.ts";
import { holdAndAdopt } from "./web-locks.ts";

/** Logged rows kept on the device for the collector at most; past it the oldest are dropped and counted. */
export const LOG_CAPACITY = 2 * MAX_LOG_ROWS_PER_BATCH;

/** Ids of rows already sent, kept so a later label can follow them. */
const SENT_CAPACITY = 1000;

/** Bytes of a batch's rows and labels: the collector's body limit less room for the batch's own fields. */
const BATCH_BYTES = MAX_LOG_BATCH_BYTES - 1024;
/** Bytes of a beaconed batch's rows and labels: a page's keepalive requests share 64 KiB. */
const BEACON_BYTES = 60_000;
/** The smallest batch {@link PredictionLog.beacon} tries when the beacon refuses larger ones. */
const MIN_BEACON_BYTES = 1_000;

const encoder = new TextEncoder();
/** Bytes of an item in a batch body: its JSON in UTF-8, and a comma. */
const bytesOf = (item: unknown) => encoder.encode(JSON.stringify(item)).length + 1;

/**
 * Takes from the front of `list` the items a batch has room for: at most
 * {@link MAX_LOG_ROWS_PER_BATCH}, within `room` bytes.
 *
 * @returns the items, and the room they leave
 */
function take<T>(list: T[], room: number): [T[], number] {
  let n = 0;
  for (let b: number; n < list.length && n < MAX_LOG_ROWS_PER_BATCH && (b = bytesOf(list[n])) <= room; n++) room -= b;
  return [list.splice(0, n), room];
}

/** What is kept in the store across reloads. */
interface Saved {
  rows: LogRow[];
  labels: LogLabel[];
  batch: LogBatch | undefined;
  /** A second batch in flight: one a beacon took beside `batch`, sent once `batch` is answered. */
  next?: LogBatch | undefined;
  dropped: number;
  sent: [id: string, version: number, t: number][];
  /** Ids of waiting rows a third beaconed batch took: they reached the collector, and are not counted as dropped. */
  beaconed?: string[] | undefined;
}

/** Makes a {@link PredictionLog}: what the logging module (runtime/media/logging.ts) is. */
export type MakeLog = (...args: ConstructorParameters<typeof PredictionLog>) => PredictionLog;

/**
 * Prediction logging (docs/privacy.md "Prediction logging"): raw rows sampled at the rollout's
 * log rate, kept in the store and sent to `POST /v1/logs` in batches of at most
 * {@link MAX_LOG_ROWS_PER_BATCH} rows and labels and {@link MAX_LOG_BATCH_BYTES} bytes, one batch in flight (resent as is until the collector answers
 * it; a beacon may add a second, sent after it). Made only when the app passes `logging: true`, by the optional module `driftline/logging`.
 */
export class PredictionLog {
  private s_: Saved = { rows: [], labels: [], batch: undefined, dropped: 0, sent: [] };
  private sending_: Promise<void> | undefined;
  /** Rows and labels offered so far. */
  private offered_ = 0;
  /** Of each waiting row and label, the {@link offered_} it was given when it came (an adopted one: when it was adopted). */
  private offeredAt_ = new WeakMap<LogRow | LogLabel, number>();
  /**
   * Of {@link offered_}, how many a finished save holds or are gone: the rows and labels offered
   * after those are saved nowhere, and go with the page unless a beacon takes them (a save begun
   * in `pagehide` never finishes in Chromium; one begun before a page went into the back-forward
   * cache may finish after it came back). Back to 0 when a refused save has deleted the key.
   */
  private saved_ = 0;
  /** Saves under way whose write was begun in an earlier task: {@link offered_} and {@link droppedUnsaved_} when each began. */
  private landing_ = new Set<[offered: number, dropped: number]>();
  /** The {@link offered_} of the last save begun: what it holds is the store's copy (a row's label set after it is not in it). */
  private begun_ = 0;
  /** Rows dropped so far that no save finished or under way held when they were, and the dropped count adopted: what a finished save has not counted either. */
  private droppedUnsaved_ = 0;
  /** Of {@link droppedUnsaved_}, how many a finished save counts or a beacon has taken. */
  private droppedSaved_ = 0;
  /** Waiting rows a third beaconed batch took (not kept in flight): sent again, but never counted as dropped. */
  private beaconed_ = new WeakSet<LogRow>();
  /** This runtime's own key in the store (and, with Web Locks, the lock it holds while it runs): `<key>:<id>`. */
  private own_: string;
  /** Releases this runtime's lock (its `close()`): what it kept goes to the next runtime of the model to start. */
  stop = () => {};

  /**
   * @param store_ - where rows wait across reloads
   * @param key_ - their key in the store's `meta` area
   * @param api_ - the collector
   * @param head_ - model name and client id of every batch
   * @param newId_ - a random batch id
   * @param onError_ - a batch the collector refused for good
   * @param clock_ - the runtime's clock (rows older than the collector takes are dropped by it)
   */
  constructor(
    private readonly store_: ModelStore,
    private readonly key_: string,
    private readonly api_: Api,
    private readonly head_: Pick<LogBatch, "model" | "client">,
    private readonly newId_: () => string,
    private readonly onError_: (err: DriftlineError) => void,
    private readonly clock_: Pick<Clock, "now">,
  ) {
    this.own_ = `${key_}:${Math.random().toString(36).slice(2)}`;
  }

  /**
   * Takes over what runtimes of the model that no longer run kept (each saves under a key of its
   * own: two tabs saving under one key overwrote each other's waiting rows). With Web Locks each
   * runtime holds a lock named by its key until it closes or its page goes, and one runtime at a time adopts
   * the keys whose lock nobody holds; without them (Node) every key of the model is adopted.
   * An adopted batch in flight is sent again unchanged, under its id, so the collector writes it
   * once however often it came (a beacon's, or one whose answer was lost); only those past the two
   * this runtime may have in flight are sent again as rows.
   */
  async load(): Promise<void> {
    this.stop = await holdAndAdopt(this.own_, `${this.key_}:adopt`, async (running) => {
      for (const k of await this.store_.keys("meta").catch(() => [])) {
        if ((k !== this.key_ && !k.startsWith(`${this.key_}:`)) || k === this.own_ || running(k)) continue;
        // (what other script of the origin wrote there may be anything)
        const o = await this.store_.get<Partial<Saved>>("meta", k).catch(() => undefined);
        if (Array.isArray(o?.rows)) {
          const s = this.s_;
          const marked = new Set(Array.isArray(o.beaconed) ? o.beaconed : []);
          for (const r of o.rows) if (r === Object(r) && marked.has(r.id)) this.beaconed_.add(r);
          const asRows: LogBatch[] = [];
          for (const b of [o.batch, o.next]) {
            if (!Array.isArray(b?.rows) || !Array.isArray(b.labels)) continue;
            // batches in flight go again unchanged; past the two this runtime may have, as rows
            if (!s.batch) s.batch = b;
            else if (!s.next) s.next = b;
            else asRows.push(b);
          }
          s.rows.unshift(...asRows.flatMap((b) => b.rows), ...o.rows);
          s.labels.push(...asRows.flatMap((b) => b.labels), ...(o.labels ?? []));
          s.dropped += asRows.reduce((n, b) => n + (b.dropped ?? 0), 0) + (o.dropped || 0);
          for (const r of s.rows.splice(0, Math.max(0, s.rows.length - LOG_CAPACITY))) s.dropped += +!this.beaconed_.has(r);
          s.sent.push(...(o.sent ?? []));
        }
        await this.store_.delete("meta", k).catch(() => {});
      }
      // what it adopted is saved only once its own save is (the keys it came from are deleted)
      for (const e of [...this.s_.rows, ...this.s_.labels]) if (e === Object(e)) this.offeredAt_.set(e, ++this.offered_);
      this.droppedUnsaved_ += this.s_.dropped;
      await this.save();
    });
  }

  /**
   * Saves to the store. A write the store refuses (full) leaves what an earlier one put there,
   * which the next page would send again after this one sent it: the key is deleted instead, and
   * nothing counts as saved (a beacon then takes what waits, and the drops not yet sent).
   */
  save(): Promise<void> {
    const beaconed = this.s_.rows.filter((r) => this.beaconed_.has(r)).map((r) => r.id);
    this.s_.beaconed = beaconed.length ? beaconed : undefined;
    const at: [offered: number, dropped: number] = [(this.begun_ = this.offered_), this.droppedUnsaved_];
    // a write begun before the task the page goes in lands all the same (Chromium drops only those begun in `pagehide`)
    queueMicrotask(() => this.landing_.add(at));
    return this.store_.put("meta", this.own_, this.s_).then(
      () => {
        this.landing_.delete(at);
        this.saved_ = Math.max(this.saved_, at[0]);
        this.droppedSaved_ = Math.max(this.droppedSaved_, at[1]);
      },
      () => {
        this.landing_.delete(at);
        return this.store_.delete("meta", this.own_).then(
          () => {
            this.saved_ = 0;
            this.droppedSaved_ = this.droppedUnsaved_ - this.s_.dropped;
          },
          () => {},
        );
      },
    );
  }

  /** The {@link saved_} and {@link droppedSaved_} of the saves finished or under way since an earlier task. */
  private held_(): [offered: number, dropped: number] {
    let [o, d] = [this.saved_, this.droppedSaved_];
    for (const [a, b] of this.landing_) (o = Math.max(o, a)), (d = Math.max(d, b));
    return [o, d];
  }

  /** Whether no save finished or under way since an earlier task holds this waiting row or label. */
  private unsaved_(entry: LogRow | LogLabel): boolean {
    return (this.offeredAt_.get(entry) ?? 0) > this.held_()[0];
  }

  /** Marks a row or label as offered now, and adds it to `list`. */
  private add_<T extends LogRow | LogLabel>(list: T[], entry: T): void {
    this.offeredAt_.set(entry, ++this.offered_);
    list.push(entry);
  }

  /** Counts a waiting row as dropped (the caller takes it out of `rows`), unless a beacon sent it. */
  private drop_(row: LogRow): void {
    if (this.beaconed_.has(row)) return;
    this.s_.dropped++;
    if (this.unsaved_(row)) this.droppedUnsaved_++;
  }

  /**
   * Logs each of a call's `n` rows with probability `rate`: its inputs as sent (the model's
   * features; text cut at {@link MAX_LOG_VALUE_LENGTH}), top class and score.
   *
   * @param m - the version that answered
   * @param rate - the rollout's log rate
   * @param t - epoch ms of the call
   * @param segment - the report segment (the app's, with backend)
   * @param id - the call's id prefix (row `r`'s id is it followed by `r`)
   * @param row - row `r` as the app sent it
   * @param n - rows in the call
   * @param staged - classes (-1: none) from `at`, then scores (NaN: none)
   * @param at - where in `staged`
   * @param labels - class names, if the model has them
   */
  offer(
    m: Model,
    rate: number,
    t: number,
    segment: Record<string, string>,
    id: string,
    row: (r: number) => Row,
    n: number,
    staged: Float64Array,
    at: number,
    labels: readonly string[] | undefined,
  ): void {
    const rows = this.s_.rows;
    for (let r = 0; r < n; r++) {
      if (Math.random() >= rate) continue;
      const sent = row(r);
      const inputs: LogRow["inputs"] = {};
      for (const { name } of m.manifest.features) {
        const v = sent[name];
        // what the app gave a feature may be anything: only plain values are logged
        if (v === null || typeof v === "number" || typeof v === "boolean") inputs[name] = v;
        else if (typeof v === "string") inputs[name] = v.slice(0, MAX_LOG_VALUE_LENGTH);
      }
      const cls = staged[at + r]!;
      const score = staged[at + n + r]!;
      if (rows.length >= LOG_CAPACITY) this.drop_(rows.shift()!);
      this.add_(rows, { id: id + r, version: m.version, t, segment, inputs, ...(labels && cls >= 0 && { label: labels[cls] }), score: score === score ? score : null });
    }
  }

  /**
   * Adds the label fed back for a logged row: to the row while it waits and no save begun holds
   * it, else as a label of its own (the next page sends a saved row as the store has it, and a
   * save under way lands the row as it was).
   *
   * @param id - the prediction id
   * @param actual - the label
   */
  label(id: string, actual: string | number): void {
    const s = this.s_;
    const waiting = s.rows.find((r) => r.id === id);
    if (waiting && (this.offeredAt_.get(waiting) ?? 0) > this.begun_) return void (waiting.actual = actual);
    const row = waiting ?? s.batch?.rows.find((r) => r.id === id) ?? s.next?.rows.find((r) => r.id === id);
    const sent = row ? [id, row.version, row.t] : s.sent.find((e) => e[0] === id);
    if (sent) this.add_(s.labels, { id, version: sent[1] as number, t: sent[2] as number, actual });
  }

  /**
   * Sends the batch in flight, then new ones of what waits. A failure that a retry may cure
   * (network, 408, 429, 5xx) keeps the batch for the next flush; any other drops it with an
   * `error` event, its rows counted as `dropped` in the next batch. Rows and labels older than the
   * collector takes ({@link MAX_LOG_AGE_MS}: one would have it refuse their whole batch) are
   * dropped before a batch is made, the rows counted. With `rate` 0 (the model's logging turned
   * off) what waits is discarded.
   *
   * @param rate - the rollout's log rate now
   */
  flush(rate: number): Promise<void> {
    return (this.sending_ ??= this.send_(rate).finally(() => (this.sending_ = undefined)));
  }

  /**
   * Hands to `sendBeacon`, as the page goes away, the batches in flight and a new one of what no
   * save holds, finished or begun in an earlier task (it lands): the store's write made then is
   * lost (Chromium), and without it the rows logged since the last save went with the page. What a
   * save holds waits in the store for the next page, which would send it again: the collector
   * would write it twice. A page's keepalive requests share 64 KiB, the reports' beacon goes first
   * and the rest is unknown, so the new batch is made within 60,000 B less the batches in flight
   * it took and, while the beacon refuses it, within half as many again (down to
   * {@link MIN_BEACON_BYTES}, then one row or label). It counts as `dropped` the unsaved rows it has no room for (they go
   * with the page, no longer kept) and those dropped before it that no save has counted. It is in
   * flight from then on, unless two are already: a page that lives on (the back-forward cache)
   * sends it again, unchanged; a third is not kept, and the rows it sent go again (never counted
   * as dropped, here or on the next page: they reached the collector).
   *
   * @param rate - the rollout's log rate now (0: nothing is sent)
   */
  beacon(rate: number): void {
    const s = this.s_;
    if (!rate) return;
    let room = BEACON_BYTES;
    for (const b of [s.batch, s.next]) {
      if (!b) continue;
      const text = JSON.stringify(b);
      // one the beacon refuses (past 64 KiB) takes none of the page's budget
      if (this.api_.beacon("/v1/logs", text)) room -= text.length;
    }
    // with two in flight, a third is not kept: what it sends waits to go again (an export reads a
    // row once), the rows it counts as dropped are gone (between an answer and the next send,
    // `next` waits alone: the new batch goes first)
    const full = !!(s.batch && s.next);
    // what the collector no longer takes (it would refuse the batch) is not sent: such rows are counted
    const old = this.clock_.now() - MAX_LOG_AGE_MS;
    const rows = s.rows.filter((r) => this.unsaved_(r));
    const fresh = rows.filter((r) => r.t >= old);
    const labels = s.labels.filter((l) => l.t >= old && this.unsaved_(l));
    // drops no save has counted (a batch made since them may hold some: it is in flight, beaconed above)
    const counted = Math.min(this.droppedUnsaved_ - this.held_()[1], s.dropped);
    for (let last = false; !last; room /= 2) {
      // below MIN_BEACON_BYTES (the batches in flight used the room up), a last try of one label or
      // row beside the count of the rest: a batch needs one, and the rest goes with the page
      if ((last = room < MIN_BEACON_BYTES)) room = bytesOf(labels[0] ?? rows[0]);
      // labels first: one left behind is counted nowhere
      const [sentLabels, left] = take(labels.slice(), room);
      const [sent] = take(fresh.slice(), left);
      const took = new Set(sent);
      const rest = rows.filter((r) => !took.has(r));
      if (!sent.length && !sentLabels.length) return;
      const dropped = Math.min(counted + rest.filter((r) => !this.beaconed_.has(r)).length, MAX_REPORT_ROWS);
      const batch: LogBatch = { id: this.newId_(), ...this.head_, rows: sent, labels: sentLabels, ...(dropped && { dropped }) };
      if (!this.api_.beacon("/v1/logs", JSON.stringify(batch))) continue;
      if (!full) s[s.batch ? "next" : "batch"] = batch;
      else for (const r of sent) this.beaconed_.add(r);
      const gone = new Set<LogRow | LogLabel>(full ? rest : [...rows, ...sentLabels]);
      s.rows = s.rows.filter((r) => !gone.has(r));
      s.labels = s.labels.filter((l) => !gone.has(l));
      s.dropped -= counted;
      this.droppedSaved_ = this.droppedUnsaved_;
      // where a write made now lands (other browsers; a page kept for back-forward and closed), the next page sends this batch as it is
      return void this.save();
    }
  }

  /**
   * Makes the next batch of what waits: rows and labels older than the collector takes, and rows
   * no batch has room for, dropped first (the rows counted).
   *
   * @returns the batch (its caller puts it in flight); undefined when nothing waits
   */
  private next_(): LogBatch | undefined {
    const s = this.s_;
    const old = this.clock_.now() - MAX_LOG_AGE_MS;
    for (const r of s.rows) if (r.t < old) this.drop_(r);
    s.rows = s.rows.filter((r) => r.t >= old);
    s.labels = s.labels.filter((l) => l.t >= old);
    // a row no batch has room for (hundreds of long texts) is dropped, not sent for ever
    while (s.rows.length && bytesOf(s.rows[0]) > BATCH_BYTES) this.drop_(s.rows.shift()!);
    const [rows, left] = take(s.rows, BATCH_BYTES);
    const [labels] = take(s.labels, left);
    if (!rows.length && !labels.length) return undefined;
    const dropped = Math.min(s.dropped, MAX_REPORT_ROWS);
    s.dropped -= dropped;
    return { id: this.newId_(), ...this.head_, rows, labels, ...(dropped && { dropped }) };
  }

  private async send_(rate: number): Promise<void> {
    const s = this.s_;
    if (!rate) {
      if (s.rows.length || s.labels.length || s.batch || s.next) this.s_ = { rows: [], labels: [], batch: undefined, dropped: 0, sent: [] };
      return this.save();
    }
    while (s.batch || s.next || s.rows.length || s.labels.length) {
      let batch = s.batch;
      if (!batch) {
        if (!(batch = s.batch = s.next ?? this.next_())) break;
        s.next = undefined;
        await this.save();
      }
      try {
        await this.api_.logs(batch);
      } catch (err) {
        const status = (err as ApiError).status;
        if (status === undefined || status === 408 || status === 429 || status >= 500) return;
        this.onError_(err as DriftlineError);
        // its rows, and those it counted (the collector keeps nothing of a batch it refuses)
        s.dropped += batch.rows.filter((r) => !this.beaconed_.has(r)).length + (batch.dropped ?? 0);
      }
      for (const r of batch.rows) s.sent.push([r.id, r.version, r.t]);
      s.sent.splice(0, s.sent.length - SENT_CAPACITY);
      s.batch = undefined;
      await this.save();
    }
  }
}
