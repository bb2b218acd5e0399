import type { DriftlineError } from "../protocol/errors.ts";
import type { Assignment } from "../protocol/schema/assignment.ts";
import type { Report } from "../protocol/schema/report.ts";
import type { Tensor } from "onnxruntime-web";
import type { EmbeddingSketch } from "../protocol/sketch/embedding.ts";
import type { BACKENDS } from "../protocol/sketch/latency.ts";
import type { EncodedTextBatch, TextEncodingHook } from "../protocol/preprocess/text.ts";
import type { ImageSpec } from "../protocol/preprocess/image.ts";
import type { AudioSpec } from "../protocol/preprocess/audio.ts";
import type { EmbeddingConfig } from "../protocol/embedding.ts";

/** The manifest as clients get it (no reference profile). */
export type Manifest = Assignment["manifest"];

export type { Assignment, Report, Tensor };

/** An execution backend of onnxruntime-web: one of `BACKENDS`, which the collector keeps latency per. */
export type Backend = (typeof BACKENDS)[number];

/**
 * One input row by feature name, as the manifest names the features; a media input by its input
 * name (an image, a clip or a text), a plain tensor input by its name (passed as it is).
 */
export type Row = Record<string, number | string | boolean | null | undefined | ImageSource | AudioClip | Feeds[string]>;

/**
 * An image as `predict()` takes it: anything a canvas can draw, or RGBA pixels row by row
 * (ImageData's layout).
 */
export type ImageSource = ImageData | ImageBitmap | HTMLCanvasElement | OffscreenCanvas | HTMLImageElement | HTMLVideoElement | VideoFrame | { data: ArrayLike<number>; width: number; height: number };

/** A mono clip as `predict()` takes it: samples at the model's rate, or at `sampleRate` (resampled). */
export type AudioClip = Float32Array | { samples: Float32Array; sampleRate: number };

/** The kinds of non-tabular input (a manifest input's `media`). */
export type MediaKind = "image" | "audio" | "text";

/** What an app's text encoder answers for a batch of texts (protocol/preprocess/text.ts). */
export type EncodedTexts = EncodedTextBatch<Feeds[string]>;

/** The app's tokenizer: the texts of one call (one per row) → the model's feeds. */
export type EncodeText = TextEncodingHook<Feeds[string]>;

/** A media input's buffer: `rows × size` values. */
export type MediaBuffer = Float32Array | Uint8Array;

/** How one media input of one manifest is filled: made by a {@link MediaModule}. */
export interface MediaFiller {
  /** Its descriptors' names, in the order `fill` writes them. */
  readonly descriptors: readonly string[];
  /**
   * Preprocesses the rows' values into `buffer` (row `r` from `r × buffer.length / rows`) and
   * writes the descriptors of row `r` with `describe(r, descriptors)` (by name; recorded by the
   * plan); may answer feeds of its own (text: the encoder's) that replace the buffer's.
   */
  fill(values: unknown[], buffer: MediaBuffer, describe: (r: number, descriptors: Record<string, number>) => void): Promise<Feeds | undefined>;
}

/** How the calls of one model version fill their non-tabular inputs (runtime/media/plan.ts). */
export interface MediaPlan {
  /** The descriptor features, in staged order (after the tabular features). */
  features: string[];
  /**
   * Fills a call's non-tabular inputs: each media input's buffer from the rows' values (and its
   * descriptors into the call's staged values, after its tabular features), each plain tensor
   * input from the first row as it is.
   *
   * @param ort - onnxruntime-web
   * @param rows - the call's rows
   * @param enc - the call's feeds from `buildFeeds`: feeds a module or the app gives replace its own
   * @param features - the model's tabular features
   */
  fill(ort: typeof import("onnxruntime-web"), rows: Row[], enc: { feeds: Record<string, Tensor>; data: ArrayLike<unknown>[]; staged: Float64Array; base: number }, features: number): Promise<void>;
}

/** An input's medium and preprocessing, as the manifest's `media` entry says (protocol/schema/media.ts). */
export type InputMedia = ({ kind: "image" } & Omit<ImageSpec, "dtype">) | ({ kind: "audio" } & AudioSpec) | { kind: "text" };

/** A manifest input, as a media module reads it. */
export interface MediaInput {
  name: string;
  dtype: string;
  /** Its dimensions: a number is fixed, a name (or a number below 1) varies. */
  shape?: readonly (number | string)[] | undefined;
  media?: InputMedia | undefined;
}

/** What a media module's plan reads of a manifest: its inputs, and which inputs tabular features feed. */
export interface MediaManifest {
  inputs: readonly MediaInput[];
  features: readonly { input: string }[];
}

/** A medium's module (`driftline/image`, `driftline/audio`, `driftline/text`). */
export interface MediaModule {
  /** A filler for one input of this medium. */
  filler(input: MediaInput, encodeText?: EncodeText): MediaFiller;
  /** The plan of a manifest, given a filler per media input (the same code in every module). */
  plan(manifest: MediaManifest, fillers: MediaFiller[]): MediaPlan;
}

/** What sketches a manifest's embedding: its seeded projection (protocol/embedding.ts). */
export interface EmbeddingProjection {
  readonly config: { length: number };
  /** An empty sketch of the manifest's sizes. */
  sketch(): EmbeddingSketch;
  /** Adds one embedding of `length` values to `sketch`. */
  add(sketch: EmbeddingSketch, embedding: ArrayLike<number>): void;
}

/** `driftline/embedding`: the projection of a manifest's embedding settings. */
export type EmbeddingModule = (config: EmbeddingConfig) => EmbeddingProjection;

/** What describes the tensors a manifest's `tensorStats` names (protocol/preprocess/tensor-stats.ts). */
export interface TensorStats {
  /** The features, `<tensor>.<statistic>`, in the order {@link describe} answers. */
  readonly features: readonly string[];
  /** One `run()` call's values of {@link features}, from its inputs and outputs by name. */
  describe(call: Record<string, { data: unknown } | undefined>): number[];
}

/** `driftline/tensors`: the statistics of the named tensors. */
export type TensorsModule = (names: readonly string[]) => TensorStats;

/**
 * `driftline/logging`: prediction logging, for apps that pass `logging: true`. Passed as
 * imported; what it is made of is the runtime's own.
 */
export interface LoggingModule {
  (...args: never[]): unknown;
  readonly kind: "logging";
}

/** The optional modules: one per medium, the embedding's, the tensor statistics' and prediction logging's. */
export interface MediaModules {
  image?: MediaModule;
  audio?: MediaModule;
  text?: MediaModule;
  embedding?: EmbeddingModule;
  tensors?: TensorsModule;
  logging?: LoggingModule;
}

/**
 * A batch as columns: per feature name, one array of its values (a typed array for numbers),
 * all of the same length; a column that is shorter or missing reads as missing values.
 */
export type Columns = Record<string, ArrayLike<Row[string]>>;

/** What `predictColumns()` answers: the batch's outputs, and per row its class and score. */
export interface BatchPrediction {
  /** Row `r`'s id for `feedback()` is `${id}${r}`. */
  id: string;
  /** Rows in the batch. */
  rows: number;
  /** Per row: the index of its class in `labels` (-1: none). */
  classes: Int32Array;
  /** Per row: the top-class score (classification) or the predicted value (regression); NaN: none. */
  scores: Float64Array;
  /** The class names `classes` index (classification with labels). */
  labels: readonly string[] | undefined;
  /** The model's output tensors, rows in batch order. */
  outputs: Record<string, Tensor>;
  /** The model version that answered. */
  version: string;
}

/** Raw feeds for {@link Runtime.run}: ORT tensors, or `{ type, data, dims }` objects. */
export type Feeds = Record<string, Tensor | { type: Tensor.Type; data: Tensor.DataType; dims: readonly number[] }>;

/** What `predict()` answers per row. */
export interface Prediction {
  /** Pass it to `feedback()` with the true label. */
  id: string;
  /**
   * This row's slice (a view) of each of the manifest's outputs, by output name; made when first
   * read, so spread, `JSON.stringify` and `postMessage` leave it out (a getter).
   */
  readonly outputs: Record<string, ArrayLike<unknown>>;
  /** Top class (classification with labels). */
  label?: string;
  /** Top-class score (classification) or the predicted value (regression). */
  score?: number;
  /** The model version that answered. */
  version: string;
}

/** What `run()` answers: the model's output tensors. */
export interface RunResult {
  /** The first row's prediction id, ending in `.0` (row `r`'s ends in `.r` instead), for `feedback()`. */
  id: string;
  outputs: Record<string, Tensor>;
  version: string;
}

/** Payload of the `update` and `rollback` events. */
export interface VersionChange {
  from: string;
  to: string;
}

/** Events and their payloads. */
export interface RuntimeEvents {
  update: VersionChange;
  rollback: VersionChange;
  error: DriftlineError;
}

/**
 * Persistent storage of models (by sha256), the last assignment, the report queue and the
 * feedback store. The default is IndexedDB; without it (Node, or blocked) an in-memory one.
 */
export interface ModelStore {
  get<T>(area: StoreArea, key: string): Promise<T | undefined>;
  put(area: StoreArea, key: string, value: unknown): Promise<void>;
  delete(area: StoreArea, key: string): Promise<void>;
  keys(area: StoreArea): Promise<string[]>;
}

/** The object stores of a {@link ModelStore}. */
export type StoreArea = "models" | "meta" | "queue";

/** How the runtime talks HTTP. The default is `fetch` (keepalive for reports) and `navigator.sendBeacon`. */
export interface Transport {
  fetch(url: string, init: RequestInit): Promise<Response>;
  /** Fire-and-forget POST of `body` while the page goes away; false when not queued. */
  beacon(url: string, body: string): boolean;
}

/** Time, for tests and simulators. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /**
   * Runs `fn` once the thread is idle: where sketching and shadow runs happen.
   * @defaultValue `requestIdleCallback` (1 s timeout) where it exists, else `setTimeout(fn, 0)`
   */
  idle?(fn: () => void): void;
}

/** Bounds of the report queue (what waits in IndexedDB for the collector). */
export interface QueueBounds {
  /**
   * Reports queued at most (a report split to fit the collector's size limit counts per part).
   * @defaultValue `64`
   */
  maxEntries: number;
  /**
   * Characters of queued reports as sent (JSON) at most; the stored drafts add about as much.
   * @defaultValue `8000000`
   */
  maxBytes: number;
  /**
   * Reports whose period ended longer ago than this are dropped.
   * @defaultValue `86400000` (24 h)
   */
  maxAgeMs: number;
}

/**
 * Options of {@link createRuntime}. Its numbers (`timeoutMs`, `reportIntervalMs`,
 * `pollIntervalMs`, `reportRows`, `feedbackCapacity`) are from 1 to 2^31 − 1, `warmupRuns` from 0;
 * another value is a DriftlineError `validation` (`reportIntervalMs: -1 is out of range`).
 */
export interface RuntimeOptions {
  /** Base URL of the collector, e.g. `https://collector.example.com`. */
  collector: string;
  /** Ingest key (`ing_…`); public, it only reports and fetches this app's models. */
  key: string;
  /** Model name. */
  model: string;
  /**
   * Stable client id: picks the rollout bucket. A string of 1 to 128 characters, else
   * `createRuntime` fails with `validation` (the collector would refuse every report).
   * @defaultValue a random id kept in the store
   */
  client?: string;
  /**
   * Segment keys added to every report (e.g. `{ appVersion: "4.2" }`), at most 5: a report
   * carries 8 keys, and the runtime sets `backend`, `backendReason` and `device`; keys of 1–32
   * letters, digits, `_`, `.` or `-`, values strings of at most 64 characters. `createRuntime`
   * refuses another segment (DriftlineError `validation`): the collector would refuse every report.
   * @defaultValue `{}`
   */
  segment?: Record<string, string>;
  /**
   * Add the device's coarse class to every report's segment as `device`
   * (`desktop-8c-8g-nvidia`: form factor, cores and memory in buckets, GPU vendor), so latency
   * objectives are judged per class. No raw numbers and no fingerprint (docs/privacy.md).
   * @defaultValue `true`
   */
  deviceClass?: boolean;
  /**
   * `auto` keeps what is fastest for this model on this device.
   * @defaultValue `"auto"`
   */
  backend?: Backend | "auto";
  /**
   * Where onnxruntime-web's files are (`ort.*.min.mjs` and the wasm).
   * @defaultValue `${collector}/sdk/ort/`
   */
  ortUrl?: string;
  /**
   * Keep models, the assignment and unsent reports in IndexedDB, and onnxruntime-web's checked
   * files in Cache Storage (checked again on every load).
   * @defaultValue `true` (falls back to memory where IndexedDB is missing or blocked)
   */
  cache?: boolean;
  /**
   * Publishers' Ed25519 public keys (base64url, from `driftline signing create`). When given,
   * only versions whose manifest one of them signed ever run: an unsigned, foreign or altered
   * manifest is an `integrity` error, and the version serving keeps serving.
   * @defaultValue none: manifests are not checked (the model bytes' SHA-256 always is)
   */
  trust?: string[];
  /**
   * Send the text of category values the manifest does not list (the most frequent 64, up to 64
   * characters each). Off by default: reports then count them as `other` only, so what users
   * type never leaves the device (docs/privacy.md).
   * @defaultValue `false`
   */
  shareUnseenCategories?: boolean;
  /**
   * Allow prediction logging: when the model's rollout has a log rate (`driftline rollout
   * <model> --log-rate R`), that share of rows is sent raw — inputs as given, outputs, version,
   * segment, time and the label once fed back — to `POST /v1/logs` for offline analysis. Both
   * switches must be on; with either off no raw value leaves the device (docs/privacy.md).
   * @defaultValue `false`
   */
  logging?: boolean;
  /**
   * The optional modules (`import image from "driftline/image"`) for manifests with image, audio or
   * text inputs or an embedding output. Those not given are imported when a manifest first needs one, from the
   * collector's `/sdk/driftline-<kind>.js`, only bytes whose SHA-256 this runtime was built with.
   * @defaultValue none: imported on demand
   */
  media?: MediaModules;
  /** The app's tokenizer, for text inputs: `predict({ text })` feeds the model what it answers. */
  encodeText?: EncodeText;
  /**
   * Send a report at least this often (the assignment may override it).
   * @defaultValue `30000`
   */
  reportIntervalMs?: number;
  /**
   * Send a report after this many rows (the assignment may override it).
   * @defaultValue `100000`
   */
  reportRows?: number;
  /**
   * Bounds of the queue of reports waiting for the collector: past them the oldest reports are
   * dropped and their rows reported as `dropped` errors once the collector answers.
   * @defaultValue `{ maxEntries: 64, maxBytes: 8000000, maxAgeMs: 86400000 }`
   */
  queue?: Partial<QueueBounds>;
  /**
   * Ask for the assignment this often when no report answered it and the rollout channel is not
   * open.
   * @defaultValue `300000`
   */
  pollIntervalMs?: number;
  /**
   * Subscribe to the model's rollout channel (a WebSocket to the collector), so a rollout change
   * or rollback reaches an idle page in about a second instead of at its next poll. Closed while
   * the page is hidden; without WebSocket, or when it cannot open, report hints and polls carry
   * updates as before. In Node the open socket keeps the process alive until `close()`.
   * @defaultValue `true`
   */
  push?: boolean;
  /**
   * Timed runs per backend during warm-up.
   * @defaultValue `5`
   */
  warmupRuns?: number;
  /**
   * Predictions kept on the device for `feedback()`, per page: a start also loads the three
   * newest earlier pages' (32 bytes a prediction each, in memory and in IndexedDB).
   * @defaultValue `1000`
   */
  feedbackCapacity?: number;
  /**
   * How long an HTTP request may wait with nothing arriving, in milliseconds: calls of the
   * collector's API, model, onnxruntime-web and optional-module downloads (a download may take
   * longer in all). Each is also aborted once more bytes arrive than it may have: the manifest's
   * `size`, the build's file sizes, 1 MiB for a module, 16 MiB for an API answer. Also how long
   * a start that keeps a version waits for a new one before serving the kept one.
   * @defaultValue `15000`
   */
  timeoutMs?: number;
  /**
   * Storage seam.
   * @defaultValue IndexedDB when `cache` and available, else memory
   */
  store?: ModelStore;
  /**
   * HTTP seam.
   * @defaultValue `fetch` + `navigator.sendBeacon`
   */
  transport?: Transport;
  /**
   * Time seam.
   * @defaultValue `Date.now` and the global timers
   */
  clock?: Clock;
}

/** A running model: predict, run, feedback, events. */
export interface Runtime {
  /** Validates one row (or a batch), runs the model, decodes and sketches the outputs; an empty batch is answered `[]`, with no run. */
  predict(row: Row): Promise<Prediction>;
  predict(rows: Row[]): Promise<Prediction[]>;
  /**
   * The same for a batch given as columns ({@link Columns}), answered as arrays: no object per
   * row on either side, for batches where that cost counts.
   */
  predictColumns(columns: Columns): Promise<BatchPrediction>;
  /**
   * Runs raw feeds (non-tabular models); outputs are sketched when the manifest says how. Its rows
   * are the first output's first dimension: more than 1,000,000 are refused (`validation`), once run.
   */
  run(feeds: Feeds): Promise<RunResult>;
  /**
   * Adds embeddings the app computed itself to the report's embedding sketch (a manifest whose
   * `embedding` names no output): one vector of the manifest's `length`, or several one after
   * the other. Throws DriftlineError `validation` (counted) for a wrong length or a non-finite
   * value, `unsupported` when the manifest has no embedding, `closed` after `close()`.
   */
  embed(vectors: ArrayLike<number>): void;
  /**
   * Joins the true label with prediction `id` (a row's id; a `predictColumns()` batch's rows are
   * `${batch.id}${row}`) on the device, once. A label that is none of the model's labels is
   * counted as a `validation` error and leaves the prediction waiting for the label meant.
   * After `close()` it rejects with DriftlineError `closed`, as the calls do: the prediction
   * waits in the stored ring for the next runtime of the model.
   * @returns whether the label joined: false for an unknown, evicted or already labelled id, or a
   *   label that is none of the model's
   */
  feedback(id: string, label: string | number): Promise<boolean>;
  /** Subscribes to an event; returns the unsubscribe function. */
  on<E extends keyof RuntimeEvents>(event: E, handler: (payload: RuntimeEvents[E]) => void): () => void;
  /** Sends everything accumulated so far (or queues it when that fails). */
  flush(): Promise<void>;
  /**
   * Flushes, stops the timers and releases the sessions. A call still in flight rejects with
   * DriftlineError `closed` (await it first to have it answered): the last report is cut as
   * `close()` begins, and rows answered after it would be reported nowhere. A second `close()`
   * resolves when the first does, once the last report is sent (or queued).
   */
  close(): Promise<void>;
  /** The version serving now. */
  readonly version: string;
  /** The backend serving now and why it was chosen. */
  readonly backend: { name: Backend; reason: string };
}
