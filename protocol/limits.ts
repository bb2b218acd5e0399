/**
 * Hard limits of the wire format. The zod schemas and the sketch decoders both enforce them;
 * input over a limit gets a `limit_exceeded` error. They live outside `schema/` so the sketch
 * code (which must not pull in zod) can use them too.
 */
export const LIMITS = {
  /** Features per model. */
  features: 512,
  /** Categories per categorical feature, and labels per output. */
  categories: 1000,
  /** Characters of a feature, category, label, segment or backend name. */
  nameLength: 128,
  /** Default number of heavy hitters a categorical sketch keeps of unseen values. */
  heavyHitters: 64,
  /** Largest heavy-hitters capacity a sketch may be created or decoded with. */
  heavyHittersMax: 1024,
  /** Characters kept of an unseen categorical value (longer ones are cut). */
  heavyHitterLength: 64,
  /** Model inputs and outputs. */
  tensors: 64,
  /** Segment keys per report. */
  segmentKeys: 8,
  /** Characters of a segment value. */
  segmentValueLength: 64,
  /** Characters of a report id (the idempotency key). */
  reportIdLength: 64,
  /** Characters of a client id. */
  clientLength: 128,
  /** Reports per batch. */
  reportsPerBatch: 100,
  /** Bytes of one report's sketches, base64 included (also the largest single sketch). */
  reportBytes: 256 * 1024,
  /** Bytes of a report batch body. */
  batchBytes: 4 * 1024 * 1024,
  /** Bytes of a manifest, reference profile included. */
  manifestBytes: 8 * 1024 * 1024,
  /** Entries of a latency (backends) or error-count (codes) sketch. */
  sketchKeys: 64,
  /** Entries of a manifest's `meta`. */
  metaKeys: 32,
} as const;
