import { eq } from "drizzle-orm";
import type { AlertConfig } from "../../protocol/schema/alert-config.ts";
import type { Db } from "../db/client.ts";
import { alertConfigs } from "../db/schema.ts";

/**
 * Stores the alert configuration of a model (replacing any previous one).
 *
 * @param db - drizzle handle
 * @param model - the model
 * @param config - the configuration
 * @param now - epoch ms
 */
export async function putAlertConfig(db: Db, model: string, config: AlertConfig, now: number): Promise<void> {
  const row = {
    model,
    webhook: config.webhook ?? null,
    datasetDrift: config.datasetDrift ?? null,
    featureDrift: config.featureDrift ? JSON.stringify(config.featureDrift) : null,
    errorRate: config.errorRate ?? null,
    latencyP95Ms: config.latencyP95Ms ?? null,
    latencyP99Ms: config.latencyP99Ms ?? null,
    throughputFleet: config.throughputFleet ?? null,
    throughputClient: config.throughputClient ?? null,
    sloPeriodDays: config.sloPeriodDays,
    accuracyDrop: config.accuracyDrop ?? null,
    maeIncrease: config.maeIncrease ?? null,
    estimatedAccuracyDrop: config.estimatedAccuracyDrop ?? null,
    minLabelled: config.minLabelled,
    windowMinutes: config.windowMinutes,
    minRows: config.minRows,
    autoRollback: config.autoRollback,
    confirmK: config.confirm.k,
    confirmM: config.confirm.m,
    updatedAt: now,
  };
  await db.insert(alertConfigs).values(row).onConflictDoUpdate({ target: alertConfigs.model, set: row });
}

function toConfig(row: typeof alertConfigs.$inferSelect): AlertConfig & { model: string } {
  return {
    model: row.model,
    ...(row.webhook !== null && { webhook: row.webhook }),
    ...(row.datasetDrift !== null && { datasetDrift: row.datasetDrift }),
    ...(row.featureDrift !== null && { featureDrift: JSON.parse(row.featureDrift) as string[] }),
    ...(row.errorRate !== null && { errorRate: row.errorRate }),
    ...(row.latencyP95Ms !== null && { latencyP95Ms: row.latencyP95Ms }),
    ...(row.latencyP99Ms !== null && { latencyP99Ms: row.latencyP99Ms }),
    ...(row.throughputFleet !== null && { throughputFleet: row.throughputFleet }),
    ...(row.throughputClient !== null && { throughputClient: row.throughputClient }),
    sloPeriodDays: row.sloPeriodDays,
    ...(row.accuracyDrop !== null && { accuracyDrop: row.accuracyDrop }),
    ...(row.maeIncrease !== null && { maeIncrease: row.maeIncrease }),
    ...(row.estimatedAccuracyDrop !== null && { estimatedAccuracyDrop: row.estimatedAccuracyDrop }),
    minLabelled: row.minLabelled,
    windowMinutes: row.windowMinutes,
    minRows: row.minRows,
    autoRollback: row.autoRollback,
    confirm: { k: row.confirmK, m: row.confirmM },
  };
}

/**
 * The alert configuration of one model, or of every model.
 *
 * @param db - drizzle handle
 * @param model - one model, or undefined for all
 */
export async function listAlertConfigs(db: Db, model?: string): Promise<(AlertConfig & { model: string })[]> {
  const rows = await db
    .select()
    .from(alertConfigs)
    .where(model === undefined ? undefined : eq(alertConfigs.model, model))
    .all();
  return rows.map(toConfig);
}
