// Alerts are kept ALERT_RETENTION_DAYS (90 unless set): the cron's hourly run deletes older state
// changes, except the alert a condition still firing started with — on the real collector (D1).
import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../../../collector/index.ts";
import { openDb } from "../../../../collector/db/client.ts";
import { alertStates, alerts } from "../../../../collector/db/schema.ts";
import { alertRetentionDays } from "../../../../collector/config.ts";
import { unique } from "../../registry-helpers.ts";

const DAY = 86_400_000;

describe("alert retention", () => {
  it("deletes alerts older than ALERT_RETENTION_DAYS once an hour, keeping each firing condition's own", async () => {
    expect([alertRetentionDays(env), alertRetentionDays({})]).toEqual([90, 90]);
    const model = `default/${unique("alert-retention")}`;
    const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    const old = hour - 100 * DAY;
    const alert = (kind: string, state: "firing" | "resolved", at: number) => ({
      model,
      version: 1,
      kind,
      subject: "",
      state,
      value: 1,
      threshold: 0.5,
      windowFrom: at - 120_000,
      windowTo: at,
      message: `${kind} ${state}`,
      at,
      attempts: 1,
      deliveredAt: at,
    });
    const db = openDb(env);
    await db.insert(alerts).values([
      // a condition that fired and resolved 100 days ago: its two alerts go
      alert("error_rate", "firing", old),
      alert("error_rate", "resolved", old + 60_000),
      // a condition firing for 100 days: the alert it started with stays, as GET /v1/alerts?state=firing shows it
      alert("dataset_drift", "firing", old),
      // yesterday's stays
      alert("latency_p95", "firing", hour - DAY),
    ]);
    await db.insert(alertStates).values([
      { model, version: 1, kind: "error_rate", subject: "", state: "resolved", since: old + 60_000, recent: "" },
      { model, version: 1, kind: "dataset_drift", subject: "", state: "firing", since: old, recent: "1" },
    ]);
    const kept = async () =>
      (await env.DB.prepare("select kind, state from alerts where model = ? order by id").bind(model).all<{ kind: string; state: string }>()).results.map((r) => `${r.kind}:${r.state}`);
    // not at the hour: nothing pruned
    await worker.scheduled(createScheduledController({ scheduledTime: hour + 5 * 60_000, cron: "* * * * *" }), env);
    expect(await kept()).toHaveLength(4);
    await worker.scheduled(createScheduledController({ scheduledTime: hour, cron: "* * * * *" }), env);
    expect(await kept()).toEqual(["dataset_drift:firing", "latency_p95:firing"]);
  });
});
