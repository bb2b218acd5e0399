// The seeded fleet of the fleet and drift benches (issue 12): a 220-feature dense classifier
// (200 numeric features, 20 categorical ones), its 5,000-row reference profile, and the reports
// of 1,000 clients built by the runtime's own Accumulator and toWire, as a browser builds them.
// Optionally writes every raw row (float32 / uint8 files) for test/bench/drift/raw_metrics.py.
import { createHash } from "node:crypto";
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { Manifest } from "../../../protocol/schema/manifest.ts";
import type { Report } from "../../../protocol/schema/report.ts";
import { toBase64 } from "../../../protocol/sketch/index.ts";
import { toWire } from "../../../runtime/draft.ts";
import { Accumulator } from "../../../runtime/report-builder.ts";
import { type DenseClassifier, buildDenseClassifier } from "../../fixtures/onnx-models.ts";
import { rng } from "../../unit/protocol/datasets.ts";

/** Numeric features (`f000`…`f199`): input columns 0…199. */
export const NUMERIC = 200;
/** Categorical features (`c00`…`c19`, index-encoded): input columns 200…219. */
export const CATEGORICAL = 20;
/** Rows of the reference profile. */
export const REFERENCE_ROWS = 5000;
/** Clients of the fleet. */
export const CLIENTS = 1000;
/** Segment values: each client has one app version and one country (15 combinations). */
export const APP_VERSIONS = ["4.1", "4.2", "4.3"];
export const COUNTRIES = ["us", "de", "in", "br", "jp"];
/**
 * Live traffic of this app version is shifted on {@link SHIFTED} numeric features and on `c00`
 * (a bad release); every other feature, and every other segment, is drawn as the reference is.
 */
export const SHIFTED_APP_VERSION = "4.3";
/** Numeric features shifted by half a standard deviation in {@link SHIFTED_APP_VERSION}. */
export const SHIFTED = ["f000", "f001", "f002", "f003", "f004"];
const LABELS = ["no", "yes"];
const MINUTE = 60_000;
const FIVE_MINUTES = 5 * MINUTE;

const numericNames = Array.from({ length: NUMERIC }, (_, j) => `f${String(j).padStart(3, "0")}`);
const categoricalNames = Array.from({ length: CATEGORICAL }, (_, k) => `c${String(k).padStart(2, "0")}`);
/** Categories of categorical feature k: 3 to 30 of them. */
const categoriesOf = (k: number) => Array.from({ length: 3 + (k % 10) * 3 }, (_, i) => `v${i}`);

/** The four kinds of numeric distribution, feature j has kind j % 4. */
const NUMERIC_KINDS = ["normal", "lognormal", "uniform", "integer"] as const;

function normal(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

/**
 * One value of numeric feature j (float32, as a tensor holds it); `shift` moves it by about half
 * a standard deviation.
 */
function numericValue(j: number, r: () => number, shift: boolean): number {
  const s = shift ? 0.5 : 0;
  switch (NUMERIC_KINDS[j % 4]) {
    case "normal":
      return Math.fround(j + (1 + (j % 7)) * (normal(r) + s));
    case "lognormal":
      return Math.fround(Math.exp(0.5 + (j % 5) * 0.3 + (0.4 + (j % 3) * 0.2) * (normal(r) + s)));
    case "uniform": {
      const width = 10 + (j % 11);
      return Math.fround(-j + width * (r() + s * 0.29));
    }
    default:
      // integer-valued: geometric-like counts with mean about 3 + j % 10
      return Math.floor((3 + (j % 10)) * -Math.log(1 - r()) * (1 + s * 0.6));
  }
}

/** Cumulative Zipf-like category shares of categorical feature k (exponent 1.2; 0.5 when shifted). */
function categoryCdf(k: number, shift: boolean): Float64Array {
  const n = categoriesOf(k).length;
  const w = Array.from({ length: n }, (_, i) => 1 / (i + 1) ** (shift ? 0.5 : 1.2));
  const total = w.reduce((a, b) => a + b, 0);
  const cdf = new Float64Array(n);
  let acc = 0;
  w.forEach((x, i) => (cdf[i] = acc += x / total));
  return cdf;
}

const cdfs = Array.from({ length: CATEGORICAL }, (_, k) => categoryCdf(k, false));
const shiftedCdf = categoryCdf(0, true);
const shiftedNumeric = new Set(SHIFTED.map((n) => numericNames.indexOf(n)));

/**
 * Draws `n` rows into `out`, column-major as the runtime stages them (`out[f * n + r]`: feature
 * f of row r; categoricals as category indexes), for one segment.
 */
function drawRows(out: Float64Array, n: number, r: () => number, shifted: boolean): void {
  for (let j = 0; j < NUMERIC; j++) {
    const shift = shifted && shiftedNumeric.has(j);
    for (let i = 0; i < n; i++) out[j * n + i] = numericValue(j, r, shift);
  }
  for (let k = 0; k < CATEGORICAL; k++) {
    const cdf = shifted && k === 0 ? shiftedCdf : cdfs[k]!;
    for (let i = 0; i < n; i++) {
      const u = r();
      let c = 0;
      while (c < cdf.length - 1 && u >= cdf[c]!) c++;
      out[(NUMERIC + k) * n + i] = c;
    }
  }
}

/** The classifier: a logistic score of standardised features, as a 220 × 2 dense ONNX layer. */
function classifier(): DenseClassifier {
  // standardise by the reference's own column means and stds, so no feature dominates the logit
  const width = NUMERIC + CATEGORICAL;
  const staged = new Float64Array(width * REFERENCE_ROWS);
  drawRows(staged, REFERENCE_ROWS, rng(7), false);
  const weights: number[][] = [];
  let bias = 0;
  for (let f = 0; f < width; f++) {
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < REFERENCE_ROWS; i++) (sum += staged[f * REFERENCE_ROWS + i]!), (sq += staged[f * REFERENCE_ROWS + i]! ** 2);
    const mean = sum / REFERENCE_ROWS;
    const std = Math.sqrt(Math.max(sq / REFERENCE_ROWS - mean * mean, 1e-6));
    const w = (0.3 * Math.sin(f + 1)) / std;
    weights.push([0, w]);
    bias -= w * mean;
  }
  return { weights, bias: [0, bias] };
}

/** The fleet's model: its ONNX bytes and how to stage its outputs like the runtime. */
export class FleetModel {
  readonly dense = classifier();
  /** The ONNX model (opset 13), published as the artifact. */
  readonly onnx = buildDenseClassifier(this.dense);
  private readonly w = this.dense.weights.map((w) => w[1]!);

  /**
   * Runs the classifier on staged rows and writes each row's class (argmax) and score (its
   * float32 probability) after the features, as runtime/outputs.ts stages them.
   *
   * @param staged - `width` feature columns of `n` rows, then room for 2 × n
   * @param n - rows
   */
  predict(staged: Float64Array, n: number): void {
    const width = NUMERIC + CATEGORICAL;
    const bias = this.dense.bias[1]!;
    for (let i = 0; i < n; i++) {
      let logit = bias;
      for (let f = 0; f < width; f++) logit += this.w[f]! * staged[f * n + i]!;
      const yes = 1 / (1 + Math.exp(-logit));
      const cls = yes > 0.5 ? 1 : 0;
      staged[width * n + i] = cls;
      staged[(width + 1) * n + i] = Math.fround(cls ? yes : 1 - yes);
    }
  }

  /** The manifest's features and outputs (no profile). */
  schema(): Pick<Manifest, "inputs" | "features" | "outputs"> {
    return {
      inputs: [{ name: "features", dtype: "float32", shape: [-1, NUMERIC + CATEGORICAL] }],
      features: [
        ...numericNames.map((name, index) => ({ name, kind: "numeric" as const, input: "features", index, policy: "reject" as const })),
        ...categoricalNames.map((name, k) => ({
          name,
          kind: "categorical" as const,
          input: "features",
          index: NUMERIC + k,
          categories: categoriesOf(k),
          encoding: "index" as const,
          policy: "reject" as const,
        })),
      ],
      outputs: [{ name: "probabilities", kind: "probabilities", labels: LABELS }],
    };
  }
}

/** One request's worth of reports of one client, already serialised. */
export interface Batch {
  /** The client's index in the fleet (its id is `client-<index>`). */
  client: number;
  reports: number;
  rows: number;
  /** `{"reports":[…]}`, the body of `POST /v1/reports`. */
  body: Buffer<ArrayBuffer>;
}

/** A built feed: the manifest to publish, the request bodies, and what they hold. */
export interface Feed {
  name: "hour" | "day";
  manifest: Manifest;
  onnx: Uint8Array;
  batches: Batch[];
  reports: number;
  rows: number;
  /** The span the report start times cover, minute-aligned epoch ms. */
  from: number;
  to: number;
  /** Mean bytes of one report as sent (JSON). */
  reportBytes: number;
}

/** Options of {@link buildFeed}. */
export interface FeedOptions {
  /** `hour`: 1,000 clients × 12 reports (every 5 minutes) over the last hour; `day`: 5 reports a minute over the last 24 h. */
  name: "hour" | "day";
  model: string;
  version: number;
  /** Now, epoch ms: the feed ends at the minute before. */
  now: number;
  /** Reports of one client per request (at most). */
  batch: number;
  /** Unique per run, in every report id. */
  tag: string;
  /** Directory to write the raw rows into (see {@link RawWriter}); none: not written. */
  rawDir?: string | undefined;
}

/**
 * Raw rows of the reference and of the live feed, for numpy: `<side>.num.f32` (rows × 200,
 * row-major float32), `<side>.cat.u8` (rows × 20 category indexes), `<side>.class.u8` and
 * `<side>.score.f32` (the prediction), and for the live side `live.minute.i32` (the row's
 * report's start minute, epoch minutes), `live.segment.u8` (appVersion index × 5 + country
 * index) and `live.client.u16` (the row's client). `meta.json` names features, categories and
 * segments.
 */
class RawWriter {
  private readonly fds = new Map<string, number>();
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  private write(file: string, bytes: Uint8Array | Uint16Array | Float32Array | Int32Array): void {
    let fd = this.fds.get(file);
    if (fd === undefined) this.fds.set(file, (fd = openSync(join(this.dir, file), "w")));
    writeSync(fd, bytes);
  }

  /** Writes `n` staged rows (features, class, score) of one side. */
  rows(side: "reference" | "live", staged: Float64Array, n: number): void {
    const num = new Float32Array(n * NUMERIC);
    const cat = new Uint8Array(n * CATEGORICAL);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < NUMERIC; j++) num[i * NUMERIC + j] = staged[j * n + i]!;
      for (let k = 0; k < CATEGORICAL; k++) cat[i * CATEGORICAL + k] = staged[(NUMERIC + k) * n + i]!;
    }
    const width = NUMERIC + CATEGORICAL;
    this.write(`${side}.num.f32`, num);
    this.write(`${side}.cat.u8`, cat);
    this.write(`${side}.class.u8`, Uint8Array.from(staged.subarray(width * n, (width + 1) * n)));
    this.write(`${side}.score.f32`, Float32Array.from(staged.subarray((width + 1) * n, (width + 2) * n)));
  }

  /** Writes the start minute, segment and client of `n` live rows. */
  keys(n: number, minute: number, segment: number, client: number): void {
    this.write("live.minute.i32", new Int32Array(n).fill(minute));
    this.write("live.segment.u8", new Uint8Array(n).fill(segment));
    this.write("live.client.u16", new Uint16Array(n).fill(client));
  }

  close(meta: object): void {
    for (const fd of this.fds.values()) closeSync(fd);
    writeFileSync(join(this.dir, "meta.json"), JSON.stringify(meta, null, 2));
  }
}

/** The 5,000-row reference profile, sketched by the runtime's Accumulator. */
function referenceProfile(model: FleetModel, manifest: Manifest, raw: RawWriter | undefined): Manifest["profile"] {
  const acc = new Accumulator(manifest, 0);
  const staged = stagedBuffer(REFERENCE_ROWS);
  drawRows(staged, REFERENCE_ROWS, rng(11), false);
  model.predict(staged, REFERENCE_ROWS);
  fold(acc, staged, REFERENCE_ROWS);
  raw?.rows("reference", staged, REFERENCE_ROWS);
  return {
    format: 1,
    rows: REFERENCE_ROWS,
    createdAt: "2026-01-01T00:00:00Z",
    features: Object.fromEntries(manifest.features.map((f, i) => [f.name, { kind: f.kind, sketch: toBase64(acc.features[i]!.encode()) }])),
    prediction: { kind: "classification", sketch: toBase64(acc.prediction.encode()) },
  };
}

const stagedBuffer = (n: number) => new Float64Array((NUMERIC + CATEGORICAL + 2) * n);

/** Folds `n` staged rows into an accumulator as one predict() call of the runtime. */
function fold(acc: Accumulator, staged: Float64Array, n: number): void {
  acc.rows += n;
  acc.fold({ acc, n, staged, base: 0, width: NUMERIC + CATEGORICAL, misses: undefined, backend: "wasm", ms: 1 + (n % 7) }, 1);
}

/** When each report of the feed starts, and whose it is. */
interface Slot {
  client: number;
  start: number;
}

/** The hour: every client reports every 5 minutes, at its own offset, over [from, from + 1 h). */
function hourSlots(from: number, r: () => number): Slot[] {
  const slots: Slot[] = [];
  for (let client = 0; client < CLIENTS; client++) {
    const offset = Math.floor(r() * FIVE_MINUTES);
    for (let k = 0; k < 12; k++) slots.push({ client, start: from + k * FIVE_MINUTES + offset });
  }
  return slots;
}

/** The sparse day: 5 reports a minute for 24 h, each from a random client of the fleet. */
function daySlots(from: number, r: () => number): Slot[] {
  const slots: Slot[] = [];
  for (let m = 0; m < 24 * 60; m++) {
    for (let k = 0; k < 5; k++) slots.push({ client: Math.floor(r() * CLIENTS), start: from + m * MINUTE + Math.floor(r() * MINUTE) });
  }
  return slots;
}

/** The segment of a client: app version and country fixed per client, all 15 combinations used. */
export function segmentOf(client: number): { appVersion: string; country: string } {
  return { appVersion: APP_VERSIONS[client % 3]!, country: COUNTRIES[Math.floor(client / 3) % 5]! };
}

/**
 * Builds a feed: the manifest with its reference profile, and every report (20–50 rows of one
 * client, drawn from the reference distributions, shifted in {@link SHIFTED_APP_VERSION}),
 * grouped into request bodies of at most `batch` reports of one client. Seeded: the same
 * options give the same rows.
 *
 * @param o - which feed, and for which model
 */
export function buildFeed(o: FeedOptions): Feed {
  const model = new FleetModel();
  const raw = o.rawDir ? new RawWriter(o.rawDir) : undefined;
  const sha256 = createHash("sha256").update(model.onnx).digest("hex");
  const head = { format: 1 as const, model: o.model, sha256, size: model.onnx.length, ...model.schema() };
  const manifest: Manifest = { ...head, profile: { format: 1, rows: 0, createdAt: "2026-01-01T00:00:00Z", features: {} } };
  manifest.profile = referenceProfile(model, manifest, raw);

  const to = Math.floor(o.now / MINUTE) * MINUTE;
  const from = to - (o.name === "hour" ? 60 : 24 * 60) * MINUTE;
  const r = rng(o.name === "hour" ? 101 : 202);
  const slots = (o.name === "hour" ? hourSlots : daySlots)(from, r);
  const byClient = new Map<number, Report[]>();
  let rows = 0;
  let bytes = 0;
  const staged = stagedBuffer(50);
  slots.forEach((slot, n) => {
    const count = 20 + Math.floor(r() * 31);
    const segment = segmentOf(slot.client);
    const acc = new Accumulator(manifest, slot.start);
    const s = staged.subarray(0, (NUMERIC + CATEGORICAL + 2) * count);
    drawRows(s, count, r, segment.appVersion === SHIFTED_APP_VERSION);
    model.predict(s, count);
    fold(acc, s, count);
    raw?.rows("live", s, count);
    raw?.keys(count, Math.floor(slot.start / MINUTE), APP_VERSIONS.indexOf(segment.appVersion) * COUNTRIES.length + COUNTRIES.indexOf(segment.country), slot.client);
    const head = { id: `${o.tag}-${o.name}-${n}`, model: o.model, version: o.version, role: "live" as const, client: `client-${slot.client}`, segment, sampleRate: 1 };
    const report = toWire(acc.cut(head, Math.min(slot.start + FIVE_MINUTES, o.now))!);
    const list = byClient.get(slot.client) ?? [];
    list.push(report);
    byClient.set(slot.client, list);
    rows += count;
  });

  const batches: Batch[] = [];
  for (const [client, reports] of byClient) {
    for (let i = 0; i < reports.length; i += o.batch) {
      const part = reports.slice(i, i + o.batch);
      const body = Buffer.from(JSON.stringify({ reports: part }));
      bytes += body.length;
      batches.push({ client, reports: part.length, rows: part.reduce((a, p) => a + p.rows, 0), body });
    }
  }
  raw?.close({
    numeric: numericNames,
    categorical: categoricalNames.map((name, k) => ({ name, categories: categoriesOf(k) })),
    labels: LABELS,
    referenceRows: REFERENCE_ROWS,
    liveRows: rows,
    appVersions: APP_VERSIONS,
    countries: COUNTRIES,
    from,
    to,
  });
  return { name: o.name, manifest, onnx: model.onnx, batches, reports: slots.length, rows, from, to, reportBytes: Math.round(bytes / slots.length) };
}
