import { and, asc, eq, getTableColumns, inArray, isNull, max } from "drizzle-orm";
import type { Db } from "./client.ts";
import { versions } from "./schema.ts";

/** A stored version row; `manifest` is the client manifest as JSON text. */
export type VersionRow = typeof versions.$inferSelect;

/**
 * One version of a model.
 *
 * @param db - drizzle handle
 * @param model - the model's key
 * @param number - the version number
 */
export async function findVersion(db: Db, model: string, number: number): Promise<VersionRow | undefined> {
  return db
    .select()
    .from(versions)
    .where(and(eq(versions.model, model), eq(versions.number, number)))
    .get();
}

/**
 * Several versions of a model at once (those that exist).
 *
 * @param db - drizzle handle
 * @param model - the model's key
 * @param numbers - the version numbers
 */
export async function findVersions(db: Db, model: string, numbers: number[]): Promise<VersionRow[]> {
  return db
    .select()
    .from(versions)
    .where(and(eq(versions.model, model), inArray(versions.number, numbers)))
    .all();
}

/**
 * The versions of a model whose artifact is `sha256` (one per profile it was published with).
 *
 * @param db - drizzle handle
 * @param model - the model's key
 * @param sha256 - the artifact hash
 */
export async function versionsOfArtifact(db: Db, model: string, sha256: string): Promise<VersionRow[]> {
  return db
    .select()
    .from(versions)
    .where(and(eq(versions.model, model), eq(versions.sha256, sha256)))
    .orderBy(asc(versions.number))
    .all();
}

/**
 * Records the profile hash of a version published before hashes were recorded.
 *
 * @param db - drizzle handle
 * @param version - the version
 * @param profileHash - the hash of its stored profile
 */
export async function recordProfileHash(db: Db, version: VersionRow, profileHash: string): Promise<void> {
  await db
    .update(versions)
    .set({ profileHash })
    .where(and(eq(versions.model, version.model), eq(versions.number, version.number), isNull(versions.profileHash)))
    .run();
}

/**
 * The version numbers a model has. A publish whose manifest upload failed deletes its version,
 * so numbers may have gaps.
 *
 * @param db - drizzle handle
 * @param model - the model's key
 */
export async function versionNumbers(db: Db, model: string): Promise<Set<number>> {
  const rows = await db.select({ number: versions.number }).from(versions).where(eq(versions.model, model)).all();
  return new Set(rows.map((r) => r.number));
}

/**
 * The highest version number of a model, 0 when it has none (lower numbers may be missing:
 * {@link versionNumbers}).
 *
 * @param db - drizzle handle
 * @param model - the model's key
 */
export async function latestVersion(db: Db, model: string): Promise<number> {
  const row = await db
    .select({ n: max(versions.number) })
    .from(versions)
    .where(eq(versions.model, model))
    .get();
  return row?.n ?? 0;
}

/** A version without its manifest (up to 1 MiB of JSON each): what a listing shows. */
export type VersionSummary = Omit<VersionRow, "manifest">;

const { manifest: _manifest, ...summaryColumns } = getTableColumns(versions);

/**
 * All versions of a model, oldest first, without their manifests: a model with many versions
 * of large manifests would otherwise read them all on every listing.
 *
 * @param db - drizzle handle
 * @param model - the model's key
 */
export async function listVersions(db: Db, model: string): Promise<VersionSummary[]> {
  return db.select(summaryColumns).from(versions).where(eq(versions.model, model)).orderBy(asc(versions.number)).all();
}

/**
 * Stores a version; throws on a duplicate number or sha256 (the UNIQUE constraints decide races).
 *
 * @param db - drizzle handle
 * @param row - the version
 */
export async function insertVersion(db: Db, row: VersionRow): Promise<void> {
  await db.insert(versions).values(row);
}

/**
 * Deletes a version: only to undo an insert whose manifest could not be stored.
 *
 * @param db - drizzle handle
 * @param model - the model's key
 * @param number - the version number
 */
export async function deleteVersion(db: Db, model: string, number: number): Promise<void> {
  await db.delete(versions).where(and(eq(versions.model, model), eq(versions.number, number)));
}
