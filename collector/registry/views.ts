import type { AuditEntry, VersionView } from "../../protocol/api.ts";
import type { AuditRecord } from "../db/audit.ts";
import type { VersionSummary } from "../db/versions.ts";
import { iso } from "../time.ts";
import { modelName } from "./model-key.ts";

/**
 * A version as the API lists it (without manifest).
 *
 * @param v - the stored version
 */
export function versionView(v: VersionSummary): VersionView {
  return {
    model: modelName(v.model),
    version: v.number,
    sha256: v.sha256,
    size: v.size,
    profileRows: v.profileRows,
    publisher: v.publisher,
    publisherKey: v.publisherKey,
    createdAt: iso(v.createdAt),
  };
}

/**
 * An audit entry as the API shows it.
 *
 * @param a - the stored entry
 */
export function auditView(a: AuditRecord): AuditEntry {
  return { id: a.id, model: modelName(a.model), keyId: a.keyId, at: iso(a.at), action: a.action, before: a.before, after: a.after };
}
