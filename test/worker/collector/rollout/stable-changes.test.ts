// The previous stable is found from the entries that changed stable only, through the partial
// index audit_log_stable_changes: a model whose log holds thousands of other changes (sample
// rates, shadows, canary percents, publishes) reads a handful of rows per walk, not the log.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { stableChangesQuery } from "../../../../collector/db/audit.ts";
import { openDb } from "../../../../collector/db/client.ts";
import { auditLog } from "../../../../collector/db/schema.ts";
import { previousStable } from "../../../../collector/rollout/rollback.ts";
import { stableChangesNewestFirst } from "../../../../collector/db/audit.ts";
import { unique } from "../../registry-helpers.ts";

describe("stable changes in a long audit log", () => {
  it("reads only the entries that changed stable", async () => {
    const db = openDb(env);
    const model = unique("app/audit");
    const entry = (at: number, action: "publish" | "rollout" | "promote" | "rollback", before: object | null, after: object) => ({
      model,
      keyId: "k",
      at,
      action,
      before: before && JSON.stringify(before),
      after: JSON.stringify(after),
    });
    const rows = [entry(0, "rollout", null, { stable: 1, sampleRate: 1 })];
    // 2,000 changes that keep stable 1, then 2 and 3 promoted, 1,000 more, and one rollback
    for (let i = 1; i <= 2000; i++) rows.push(i % 10 ? entry(i, "rollout", { stable: 1, sampleRate: 1 }, { stable: 1, sampleRate: i / 1e4 }) : entry(i, "publish", null, { version: i }));
    rows.push(entry(2001, "promote", { stable: 1 }, { stable: 2 }), entry(2002, "promote", { stable: 2 }, { stable: 3 }));
    for (let i = 1; i <= 1000; i++) rows.push(entry(2002 + i, "rollout", { stable: 3, sampleRate: 1 }, { stable: 3, sampleRate: i / 1e4 }));
    rows.push(entry(4000, "rollback", { stable: 3 }, { stable: 2 }));
    // D1 takes at most 100 bound values a statement: 14 rows of 7
    for (let i = 0; i < rows.length; i += 14) await db.insert(auditLog).values(rows.slice(i, i + 14));

    expect(await previousStable(stableChangesNewestFirst(db, model))).toBe(1);
    const { sql, params } = stableChangesQuery(db, model, Number.MAX_SAFE_INTEGER, 16).toSQL();
    const page = await env.DB.prepare(sql)
      .bind(...params)
      .all();
    expect(page.results).toHaveLength(4);
    expect(page.meta.rows_read).toBeLessThanOrEqual(8);
    const plan = await env.DB.prepare(`explain query plan ${sql}`)
      .bind(...params)
      .all<{ detail: string }>();
    expect(plan.results.map((r) => r.detail).join("\n")).toContain("audit_log_stable_changes");
  });
});
