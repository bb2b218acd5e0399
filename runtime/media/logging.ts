/**
 * `driftline/logging` (dist/driftline-logging.js): prediction logging (runtime/prediction-log.ts),
 * which only apps that pass `logging: true` run. The runtime imports it from the collector's
 * `/sdk/` when logging is allowed, unless the app passes it.
 *
 * @example
 * import logging from "driftline/logging";
 * const rt = await createRuntime({ collector, key, model: "churn", logging: true, media: { logging } });
 */
import { PredictionLog, type MakeLog } from "../prediction-log.ts";
import type { LoggingModule } from "../types.ts";

/** The logging module: makes the prediction log of one runtime. */
const make: MakeLog = (...args) => new PredictionLog(...args);
const logging: LoggingModule = Object.assign(make, { kind: "logging" as const });

export default logging;
