import { request, connection } from "../api.ts";
import { CONNECTION_OPTIONS, UsageError, parse } from "../args.ts";
import { type EstimatedPerformance, type Performance, modelDetailSchema, modelListSchema, statsAnswerSchema } from "../../protocol/api.ts";
import type { BaselinePerformance } from "../../protocol/schema/profile.ts";
import { describeRollout, table } from "../format.ts";
import { printableJson } from "../../protocol/printable.ts";
import { auditChange } from "../../protocol/audit-text.ts";
import { describeShadow } from "../../protocol/shadow-text.ts";
import { formatBytes } from "../../protocol/byte-size.ts";
import { liveVersions } from "../../protocol/live-versions.ts";
import type { Command } from "./command.ts";

/** `driftline status [model]`: one model's versions, rollout and recent changes, or every model. */
export const status: Command = {
  name: "status",
  summary: "a model's versions, rollout and recent changes (or all models)",
  usage: `driftline status [model] [--json] [--url URL --key KEY] [--app APP]\n\nA model's versions, rollout, performance of the live versions over the last 24 h, a shadow's\nagreement with them, and recent changes. Without a model, lists every model the key can see,\nwith the rows and errors its live versions reported over the last hour.\n\n  --json   the API's answer as is: GET /v1/models/<model> (versions, rollout, audit; no\n           performance or shadow lines), or GET /v1/models`,
  async run(argv) {
    const { values, positionals } = parse(argv, { ...CONNECTION_OPTIONS, json: { type: "boolean" } });
    if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
    const conn = connection(values);
    const model = positionals[0];
    if (!model) {
      const list = await request(conn, "/v1/models", { answer: modelListSchema });
      if (values.json) return void console.log(printableJson(list, 2));
      if (list.models.length === 0) return void console.log("no models yet: driftline publish model.onnx --model NAME --profile profile.json");
      console.log(
        table(
          ["model", "app", "latest", "rollout", "rows (1 h)", "errors (1 h)"],
          list.models.map((m) => [
            m.name,
            m.app,
            m.latestVersion ? `v${m.latestVersion}` : "-",
            m.rollout ? describeRollout(m.rollout) : "-",
            m.lastHour.rows.toLocaleString("en-US"),
            m.lastHour.errors.toLocaleString("en-US"),
          ]),
        ),
      );
      return;
    }
    const detail = await request(conn, `/v1/models/${encodeURIComponent(model)}`, { answer: modelDetailSchema });
    if (values.json) return void console.log(printableJson(detail, 2));
    console.log(`${detail.name} (app ${detail.app}): ${detail.rollout ? describeRollout(detail.rollout) : "no rollout"}\n`);
    console.log(
      table(
        ["version", "sha256", "size", "profile rows", "publisher", "published"],
        detail.versions.map((v) => [`v${v.version}`, v.sha256.slice(0, 12), formatBytes(v.size), String(v.profileRows), v.publisher ?? "-", v.createdAt]),
      ),
    );
    const live = detail.rollout ? liveVersions(detail.rollout) : [];
    const day = Date.now() - 86_400_000;
    for (const version of live) {
      const stats = await request(conn, `/v1/stats?model=${encodeURIComponent(model)}&version=${version}&from=${day}`, { answer: statsAnswerSchema });
      console.log(`\nperformance of v${version}, last 24 h: ${describePerformance(stats.performance, stats.baseline, stats.estimated)}`);
    }
    const shadow = detail.rollout?.shadow?.version;
    for (const version of live.filter((v) => shadow !== undefined && v !== shadow)) {
      const stats = await request(conn, `/v1/stats?model=${encodeURIComponent(model)}&version=${version}&role=shadow&from=${day}`, { answer: statsAnswerSchema });
      console.log(`\nshadow v${shadow} beside v${version}, last 24 h: ${describeShadow(stats.shadow[String(shadow)], stats.baseline?.kind === "regression")}`);
    }
    if (detail.audit.length) {
      console.log("\nrecent changes");
      console.log(
        table(
          ["at", "action", "key", "change"],
          detail.audit.slice(0, 10).map((a) => [a.at, a.action, a.keyId, auditChange(a, describeRollout)]),
        ),
      );
    }
  },
};

/**
 * Live performance from on-device labels, and estimated without them, beside the profile's
 * baseline, in one line.
 *
 * @param live - `performance` of `GET /v1/stats`
 * @param baseline - `baseline` of `GET /v1/stats`
 * @param estimated - `estimated` of `GET /v1/stats`
 */
export function describePerformance(live: Performance | null, baseline: BaselinePerformance | null, estimated: EstimatedPerformance | null = null): string {
  const fmt = (x: number) => x.toFixed(3);
  const delta = (x: number) => (baseline?.kind === "classification" ? ` (${x >= baseline.accuracy ? "+" : "−"}${fmt(Math.abs(x - baseline.accuracy))})` : "");
  const base = !baseline
    ? "no baseline (a table's profile records one with --target)"
    : baseline.kind === "classification"
      ? `baseline accuracy ${fmt(baseline.accuracy)}`
      : `baseline MAE ${fmt(baseline.mae)}`;
  const estimate = estimated
    ? ` · estimated without labels ${fmt(estimated.accuracy)}${delta(estimated.accuracy)}, band ${fmt(estimated.band.accuracy[0])}–${fmt(estimated.band.accuracy[1])}, over ${estimated.rows.toLocaleString("en-US")} predictions`
    : "";
  if (!live) return `no labels yet${estimate} · ${base}`;
  const labelled = `${live.labelled.toLocaleString("en-US")} labelled`;
  if ("accuracy" in live) return `accuracy ${fmt(live.accuracy)}${delta(live.accuracy)} on ${labelled}${estimate} · ${base}`;
  return `MAE ${fmt(live.mae)}, RMSE ${fmt(live.rmse)} on ${labelled} · ${base}`;
}
