import { createReadStream, statSync } from "node:fs";
import { createInterface } from "node:readline";
import { EmbeddingProjector, EmbeddingReference, type EmbeddingConfig } from "../protocol/embedding.ts";
import { EMBEDDING_CHUNKS } from "../protocol/drift/embedding.ts";
import type { ReferenceProfile } from "../protocol/schema/profile.ts";
import { toBase64 } from "../protocol/sketch/index.ts";
import { CliError, fileReason, oneLine } from "./args.ts";
import { formatBytes } from "../protocol/byte-size.ts";
import { progress } from "./progress.ts";

/** Projected components when `--embedding-dims` is not given (fewer for a shorter embedding). */
const DEFAULT_DIMS = 16;

/** Reference embeddings the kernel's bandwidth and the components' clip are chosen from. */
const BANDWIDTH_SAMPLE = 500;

/**
 * Devices clip each projected component to ± this many times the largest magnitude one has in
 * the sample: room for real drift, and a bound on what one sender's share of a window can move
 * the components' sums by (protocol/drift/embedding.ts).
 */
const CLIP_FACTOR = 2;

/** How `driftline profile --embeddings` summarises the reference embeddings. */
export interface EmbeddingOptions {
  /** Projected components. @defaultValue 16, or the embedding's length when it is shorter (more would only repeat it) */
  dims?: number | undefined;
  /** Random Fourier features. @defaultValue 256 */
  features: number;
  /** Seed of the projection and the features. @defaultValue 1 */
  seed: number;
  /** The model output that is the embedding, when it is one (else the app passes it). */
  output?: string | undefined;
}

/**
 * Reads the embeddings of an NDJSON file (one JSON array of numbers per line), all of one length.
 *
 * @param path - the file
 * @param read - told the bytes read so far before each embedding is handed out
 */
async function* readEmbeddings(path: string, read?: (bytes: number) => void): AsyncGenerator<number[]> {
  const file = createReadStream(path);
  const lines = createInterface({ input: file, crlfDelay: Infinity });
  let line = 0;
  let length: number | undefined;
  try {
    for await (const text of lines) {
      line++;
      if (text.trim() === "") continue;
      let row: unknown;
      try {
        row = JSON.parse(text);
      } catch {
        throw new CliError(`${path}:${line}: not JSON`);
      }
      if (!Array.isArray(row) || row.length === 0 || !row.every((v) => typeof v === "number" && Number.isFinite(v))) throw new CliError(`${path}:${line}: not an array of finite numbers`);
      length ??= row.length;
      if (row.length !== length) throw new CliError(`${path}:${line}: ${row.length} values, the first embedding has ${length}`);
      read?.(file.bytesRead);
      yield row;
    }
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`cannot read the embeddings ${path}: ${fileReason(err) ?? oneLine(err)}`);
  }
}

/** The median distance between projected embeddings of a sample: the RBF kernel's bandwidth. */
function medianDistance(projected: Float64Array[]): number {
  const distances: number[] = [];
  for (let i = 0; i < projected.length; i++) {
    for (let j = i + 1; j < projected.length; j++) {
      let sum = 0;
      projected[i]!.forEach((v, k) => (sum += (v - projected[j]![k]!) ** 2));
      distances.push(Math.sqrt(sum));
    }
  }
  distances.sort((a, b) => a - b);
  return distances[distances.length >> 1] ?? 0;
}

/**
 * `driftline profile --embeddings FILE`: the manifest's embedding settings (bandwidth by the median
 * heuristic on the first 500 embeddings, projected; each component clipped to twice the largest
 * magnitude among them) and the reference side of embedding drift.
 *
 * @param path - NDJSON, one embedding per line
 * @param options - sizes, seed and the output
 */
export async function profileEmbeddings(path: string, options: EmbeddingOptions): Promise<{ config: EmbeddingConfig & { output?: string }; reference: NonNullable<ReferenceProfile["embedding"]> }> {
  const sample: number[][] = [];
  for await (const e of readEmbeddings(path)) if (sample.push(e) >= BANDWIDTH_SAMPLE) break;
  if (sample.length < 2) throw new CliError(`${path} holds fewer than 2 embeddings`);
  const length = sample[0]!.length;
  const base = { length, dims: options.dims ?? Math.min(DEFAULT_DIMS, length), features: options.features, seed: options.seed };
  const unit = new EmbeddingProjector({ ...base, bandwidth: 1 });
  const projected = sample.map((e) => unit.project(e));
  const bandwidth = medianDistance(projected);
  if (!(bandwidth > 0)) throw new CliError(`${path}: the embeddings are all the same`);
  const clip = CLIP_FACTOR * projected.reduce((most, p) => p.reduce((m, v) => Math.max(m, Math.abs(v)), most), 0);
  const config = { ...base, bandwidth, clip, ...(options.output && { output: options.output }) };
  const reference = new EmbeddingReference(new EmbeddingProjector(config));
  const bar = progress(`sketching embeddings of ${path}`, statSync(path).size, formatBytes);
  for await (const e of readEmbeddings(path, (bytes) => bar.update(bytes))) reference.add(e);
  bar.done(`${reference.sketch.count} embeddings`);
  return { config, reference: { sketch: toBase64(reference.sketch.encode()), nullScale: nullScaleOf(reference, path) } };
}

/** The reference's MMD null spread; a CliError when the embeddings are too few to calibrate it. */
function nullScaleOf(reference: EmbeddingReference, path: string): number {
  try {
    return reference.nullScale();
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    throw new CliError(`${path}: ${reference.sketch.count} embeddings are too few to calibrate the MMD (dealt into ${EMBEDDING_CHUNKS} chunks, no chunk held two); give more`);
  }
}
