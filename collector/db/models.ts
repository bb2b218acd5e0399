import { and, asc, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "./client.ts";
import { models } from "./schema.ts";

/** A stored model row; `id` is its internal key (collector/registry/model-key.ts). */
export type ModelRow = typeof models.$inferSelect;

/**
 * The model `name` of `app`.
 *
 * @param db - drizzle handle
 * @param app - the app
 * @param name - the model name
 */
export async function findModel(db: Db, app: string, name: string): Promise<ModelRow | undefined> {
  return db
    .select()
    .from(models)
    .where(and(eq(models.app, app), eq(models.name, name)))
    .get();
}

/** Names {@link findModels} binds in one statement at most: D1 binds at most 100 parameters a statement, and the app is one. */
const NAMES_PER_QUERY = 90;

/**
 * The models of `app` among `names` (names it has no model of are left out), in one statement per
 * 90 names.
 *
 * @param db - drizzle handle
 * @param app - the app
 * @param names - model names
 */
export async function findModels(db: Db, app: string, names: readonly string[]): Promise<ModelRow[]> {
  const out: ModelRow[] = [];
  for (let i = 0; i < names.length; i += NAMES_PER_QUERY) {
    out.push(
      ...(await db
        .select()
        .from(models)
        .where(and(eq(models.app, app), inArray(models.name, names.slice(i, i + NAMES_PER_QUERY))))
        .all()),
    );
  }
  return out;
}

/**
 * Every app's model called `name` (for the bootstrap key, which belongs to no app).
 *
 * @param db - drizzle handle
 * @param name - the model name
 */
export async function findModelsNamed(db: Db, name: string): Promise<ModelRow[]> {
  return db.select().from(models).where(eq(models.name, name)).orderBy(asc(models.app)).all();
}

/**
 * Creates the model unless its app already has one of that name, and returns the stored row.
 *
 * @param db - drizzle handle
 * @param row - the model to create
 */
export async function ensureModel(db: Db, row: ModelRow): Promise<ModelRow> {
  await db.insert(models).values(row).onConflictDoNothing();
  return (await findModel(db, row.app, row.name))!;
}

/**
 * Models by app and name with their latest version number; all apps when `app` is undefined.
 *
 * @param db - drizzle handle
 * @param app - only this app's models
 */
export async function listModels(db: Db, app?: string): Promise<(ModelRow & { latestVersion: number })[]> {
  return db
    .select({
      id: models.id,
      app: models.app,
      name: models.name,
      createdAt: models.createdAt,
      latestVersion: sql<number>`coalesce((select max(number) from versions where versions.model = ${models.id}), 0)`,
    })
    .from(models)
    .where(app === undefined ? undefined : eq(models.app, app))
    .orderBy(asc(models.app), asc(models.name))
    .all();
}
