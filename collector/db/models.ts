import { asc, eq, sql } from "drizzle-orm";
import type { Db } from "./client.ts";
import { models } from "./schema.ts";

/** A stored model row. */
export type ModelRow = typeof models.$inferSelect;

/**
 * A model by name.
 *
 * @param db - drizzle handle
 * @param name - the model name
 */
export async function findModel(db: Db, name: string): Promise<ModelRow | undefined> {
  return db.select().from(models).where(eq(models.name, name)).get();
}

/**
 * Creates the model unless it exists, and returns the stored row (whose app may differ from
 * `row.app` when someone else created it first).
 *
 * @param db - drizzle handle
 * @param row - the model to create
 */
export async function ensureModel(db: Db, row: ModelRow): Promise<ModelRow> {
  await db.insert(models).values(row).onConflictDoNothing();
  return (await findModel(db, row.name))!;
}

/**
 * Models by name with their latest version number; all apps when `app` is undefined.
 *
 * @param db - drizzle handle
 * @param app - only this app's models
 */
export async function listModels(db: Db, app?: string): Promise<(ModelRow & { latestVersion: number })[]> {
  return db
    .select({
      name: models.name,
      app: models.app,
      createdAt: models.createdAt,
      latestVersion: sql<number>`coalesce((select max(number) from versions where versions.model = ${models.name}), 0)`,
    })
    .from(models)
    .where(app === undefined ? undefined : eq(models.app, app))
    .orderBy(asc(models.name))
    .all();
}
