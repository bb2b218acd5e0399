// The limits the sketch code reads are also plain constants: esbuild inlines those and drops
// the LIMITS object from bundles that only hold sketches (the browser runtime).

/**
 * Classes of a confusion matrix and of a classifier's confidence histograms (and so of
 * performance estimates without labels): k×k cells must stay small.
 */
export const MAX_LABELS = 64;

/**
 * Largest `step` of a regression output: its targets' spacing (cli/target-recording.ts), a
 * whole multiple of a power of ten up to 10^6 — prices in ten millions have a step of 10^7.
 */
export const MAX_TARGET_STEP = 1e15;

/** Categories per categorical feature, and labels per output ({@link LIMITS}`.categories`). */
export const MAX_CATEGORIES = 1000;
/** Characters of a feature, category, label, segment or backend name ({@link LIMITS}`.nameLength`). */
export const MAX_NAME_LENGTH = 128;
/** Default heavy-hitters capacity of a categorical sketch ({@link LIMITS}`.heavyHitters`). */
export const HEAVY_HITTERS = 64;
/** Largest heavy-hitters capacity ({@link LIMITS}`.heavyHittersMax`). */
export const MAX_HEAVY_HITTERS = 1024;
/** Characters kept of an unseen categorical value ({@link LIMITS}`.heavyHitterLength`). */
export const HEAVY_HITTER_LENGTH = 64;
/** Entries of a latency or error-count sketch ({@link LIMITS}`.sketchKeys`). */
export const MAX_SKETCH_KEYS = 64;
/** Rows one report may cover ({@link LIMITS}`.reportRows`). */
export const MAX_REPORT_ROWS = 1_000_000;
/** Bytes of one report's sketches, base64 included ({@link LIMITS}`.reportBytes`). */
export const MAX_REPORT_BYTES = 256 * 1024;
/** Logged rows, and labels, per prediction-log batch ({@link LIMITS}`.logRowsPerBatch`). */
export const MAX_LOG_ROWS_PER_BATCH = 500;
/** Bytes of a prediction-log batch body ({@link LIMITS}`.logBatchBytes`). */
export const MAX_LOG_BATCH_BYTES = 1024 * 1024;
/** How far back a logged row's time may lie ({@link LIMITS}`.logMaxAgeMs`: 7 days). */
export const MAX_LOG_AGE_MS = 7 * 86_400_000;
/** Characters of a logged text input ({@link LIMITS}`.logValueLength`). */
export const MAX_LOG_VALUE_LENGTH = 1024;
/** A segment key: 1–32 letters, digits, `_`, `.` or `-`. */
export const SEGMENT_KEY = /^[A-Za-z0-9_.-]{1,32}$/;
/** Characters of a segment value. */
export const MAX_SEGMENT_VALUE_LENGTH = 64;
/** Characters of a client id. */
export const MAX_CLIENT_LENGTH = 128;

/**
 * Hard limits of the wire format. The zod schemas and the sketch decoders both enforce them;
 * input over a limit gets a `limit_exceeded` error. They live outside `schema/` so the sketch
 * code (which must not pull in zod) can use them too.
 */
export const LIMITS = {
  /** Features per model. */
  features: 512,
  /** Categories per categorical feature, and labels per output. */
  categories: MAX_CATEGORIES,
  /** Characters of a feature, category, label, segment or backend name. */
  nameLength: MAX_NAME_LENGTH,
  /** Default number of heavy hitters a categorical sketch keeps of unseen values. */
  heavyHitters: HEAVY_HITTERS,
  /** Largest heavy-hitters capacity a sketch may be created or decoded with. */
  heavyHittersMax: MAX_HEAVY_HITTERS,
  /** Characters kept of an unseen categorical value (longer ones are cut). */
  heavyHitterLength: HEAVY_HITTER_LENGTH,
  /** Model inputs and outputs. */
  tensors: 64,
  /** Segment keys per report. */
  segmentKeys: 8,
  /** Characters of a segment value. */
  segmentValueLength: MAX_SEGMENT_VALUE_LENGTH,
  /** Characters of a report id (the idempotency key). */
  reportIdLength: 64,
  /** Characters of a client id. */
  clientLength: MAX_CLIENT_LENGTH,
  /**
   * Rows one report may cover (and so the most values any of its sketches may hold). The runtime
   * reports after 100,000 rows; the margin takes the batch that crossed that mark. It bounds every
   * count the collector merges, so sums of accepted reports stay exact far below 2^53.
   */
  reportRows: MAX_REPORT_ROWS,
  /** Reports per batch. */
  reportsPerBatch: 100,
  /**
   * Bytes of one report's sketches, base64 included (also the largest single sketch). The
   * runtime splits a bigger report by features (`part`); the largest single sketch a manifest
   * allows (a categorical feature of {@link MAX_CATEGORIES} names of {@link MAX_NAME_LENGTH}
   * characters, 179 KB with its heavy hitters full) fits alone.
   */
  reportBytes: MAX_REPORT_BYTES,
  /** Bytes of a report batch body. */
  batchBytes: 4 * 1024 * 1024,
  /** Bytes of a manifest, reference profile included. */
  manifestBytes: 8 * 1024 * 1024,
  /** Entries of a latency (backends) or error-count (codes) sketch. */
  sketchKeys: MAX_SKETCH_KEYS,
  /** Entries of a manifest's `meta`. */
  metaKeys: 32,
  /** Logged rows, and labels of logged rows, per prediction-log batch (`POST /v1/logs`). */
  logRowsPerBatch: MAX_LOG_ROWS_PER_BATCH,
  /** Bytes of a prediction-log batch body. */
  logBatchBytes: MAX_LOG_BATCH_BYTES,
  /** Characters of a logged text input. */
  logValueLength: MAX_LOG_VALUE_LENGTH,
  /** How far back a logged row's time may lie: older rows are refused (ms, 7 days). */
  logMaxAgeMs: MAX_LOG_AGE_MS,
} as const;
