/**
 * Drift mathematics of the collector: pure functions from reference and current sketches to
 * metrics, tests and verdicts (see docs/drift.md).
 */
export { computeDrift, DEFAULT_BINS, DEFAULT_DATASET_SHARE, type DriftResult } from "./drift-report.ts";
export { decodeReference, type Reference, type Sketches } from "./reference.ts";
export { DEFAULT_THRESHOLDS, SMALL_REFERENCE_ROWS } from "./test-choice.ts";
