// Shapes the dashboard reads: the collector's answers (protocol/api.ts) and its own query types.
export type {
  Alert,
  AuditEntry,
  Bins,
  DriftAnswer,
  DriftMetrics,
  DriftSeriesAnswer,
  DriftWindow,
  DriftTest,
  FeatureDrift,
  LatencyQuantiles,
  ModelDetail,
  ModelSummary,
  RolloutView as Rollout,
  SloObjective,
  StatsAnswer,
  StatsSeriesAnswer,
  StatsWindow,
} from "../protocol/api.ts";
export type { AlertConfigAnswer } from "../protocol/schema/alert-config.ts";
export type { BaselinePerformance } from "../protocol/schema/profile.ts";
import type { ModelRef } from "./model-ref.ts";

/** `GET /v1/segments`: segment keys and their values. */
export type Segments = Record<string, string[]>;

/** Query of the routes that read window aggregates. */
export interface WindowQuery {
  model: ModelRef;
  version?: number | undefined;
  role?: "live" | "shadow";
  from: number;
  to: number;
  /** Canonical `key:value[,…]`; empty for all traffic. */
  segment?: string;
}

/** The body of `PUT /v1/models/:model/rollout`. */
export interface RolloutChange {
  stable?: number;
  canary?: { version: number; percent: number } | null;
  shadow?: { version: number; sampleRate: number } | null;
}
