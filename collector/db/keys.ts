import { and, asc, eq, isNull } from "drizzle-orm";
import type { Db } from "./client.ts";
import { apiKeys, apps } from "./schema.ts";

/** A stored API key row (the hash never leaves collector/db/ and auth). */
export type KeyRow = typeof apiKeys.$inferSelect;

/**
 * Creates the app if it does not exist yet.
 *
 * @param db - drizzle handle
 * @param app - the app id
 * @param now - epoch ms
 */
export async function ensureApp(db: Db, app: string, now: number): Promise<void> {
  await db.insert(apps).values({ id: app, createdAt: now }).onConflictDoNothing();
}

/**
 * Stores a new key.
 *
 * @param db - drizzle handle
 * @param row - the key, with the token's hash (never the token)
 */
export async function insertKey(db: Db, row: typeof apiKeys.$inferInsert): Promise<KeyRow> {
  const [stored] = await db.insert(apiKeys).values(row).returning();
  return stored!;
}

/**
 * The unrevoked key whose token hashes to `hash`, if any.
 *
 * @param db - drizzle handle
 * @param hash - SHA-256 hex of the bearer token
 */
export async function findActiveKeyByHash(db: Db, hash: string): Promise<KeyRow | undefined> {
  return db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.hash, hash), isNull(apiKeys.revokedAt)))
    .get();
}

/**
 * What the unrevoked ingest keys allow browsers: `any` when one of them names no origins,
 * else the union of the origins they name.
 *
 * @param db - drizzle handle
 */
export async function activeIngestOrigins(db: Db): Promise<{ any: boolean; origins: Set<string> }> {
  const rows = await db
    .select({ origins: apiKeys.origins })
    .from(apiKeys)
    .where(and(eq(apiKeys.role, "ingest"), isNull(apiKeys.revokedAt)))
    .all();
  return { any: rows.some((r) => r.origins === null), origins: new Set(rows.flatMap((r) => r.origins ?? [])) };
}

/**
 * A key by id, revoked or not.
 *
 * @param db - drizzle handle
 * @param id - the key id
 */
export async function findKey(db: Db, id: string): Promise<KeyRow | undefined> {
  return db.select().from(apiKeys).where(eq(apiKeys.id, id)).get();
}

/**
 * Keys in creation order, revoked ones included; all apps when `app` is undefined.
 *
 * @param db - drizzle handle
 * @param app - only this app's keys
 */
export async function listKeys(db: Db, app?: string): Promise<KeyRow[]> {
  return db
    .select()
    .from(apiKeys)
    .where(app === undefined ? undefined : eq(apiKeys.app, app))
    .orderBy(asc(apiKeys.createdAt), asc(apiKeys.id))
    .all();
}

/**
 * Revokes a key (idempotent: a revoked key keeps its first revocation time).
 *
 * @param db - drizzle handle
 * @param id - the key id
 * @param now - epoch ms
 * @returns the key after revocation, or undefined when there is no such key
 */
export async function revokeKey(db: Db, id: string, now: number): Promise<KeyRow | undefined> {
  await db
    .update(apiKeys)
    .set({ revokedAt: now })
    .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)));
  return findKey(db, id);
}
