/**
 * Driftline's browser runtime: `createRuntime()` and its types, and `DriftlineError`.
 * Nothing else is public.
 *
 * @example
 * import { createRuntime } from "driftline";
 * const rt = await createRuntime({ collector: "https://collector.example.com", key: "ing_…", model: "churn" });
 * const out = await rt.predict({ tenure: 12, plan: "pro" });
 */
export { createRuntime } from "./runtime.ts";
export { DriftlineError } from "../protocol/errors.ts";
export type { ErrorCode } from "../protocol/errors.ts";
export type {
  AudioClip,
  Backend,
  BatchPrediction,
  Columns,
  Clock,
  EmbeddingModule,
  EmbeddingProjection,
  EncodedTexts,
  EncodeText,
  ImageSource,
  InputMedia,
  LoggingModule,
  MediaBuffer,
  MediaFiller,
  MediaInput,
  MediaKind,
  MediaManifest,
  MediaModule,
  MediaModules,
  MediaPlan,
  Feeds,
  ModelStore,
  Prediction,
  Row,
  RunResult,
  Runtime,
  RuntimeEvents,
  RuntimeOptions,
  StoreArea,
  TensorStats,
  TensorsModule,
  Transport,
  VersionChange,
} from "./types.ts";
