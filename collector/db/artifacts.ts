import { and, eq } from "drizzle-orm";
import type { Db } from "./client.ts";
import { artifactUploads, models, versions } from "./schema.ts";

/**
 * Records that `app` uploaded the artifact `sha256` (whose bytes the collector has checked).
 *
 * @param db - drizzle handle
 * @param row - artifact hash, app, uploading key id, epoch ms
 */
export async function recordUpload(db: Db, row: typeof artifactUploads.$inferInsert): Promise<void> {
  await db.insert(artifactUploads).values(row).onConflictDoNothing();
}

/**
 * Whether `app` may register and read the artifact `sha256`: it uploaded it, or one of its
 * models has a version with it (versions from before uploads were recorded).
 *
 * @param db - drizzle handle
 * @param app - the app
 * @param sha256 - the artifact hash
 */
export async function appMayUseArtifact(db: Db, app: string, sha256: string): Promise<boolean> {
  const [uploaded, named] = await Promise.all([
    db
      .select({ app: artifactUploads.app })
      .from(artifactUploads)
      .where(and(eq(artifactUploads.sha256, sha256), eq(artifactUploads.app, app)))
      .get(),
    db
      .select({ app: models.app })
      .from(versions)
      .innerJoin(models, eq(models.id, versions.model))
      .where(and(eq(versions.sha256, sha256), eq(models.app, app)))
      .get(),
  ]);
  return uploaded !== undefined || named !== undefined;
}
