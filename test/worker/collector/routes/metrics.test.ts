import { describe, expect, it } from "vitest";
import { flush, liveModel, makeReport, postReports } from "../../ingest-helpers.ts";
import { PrometheusText } from "../../../../collector/routes/prometheus-text.ts";
import { call, createKey, expectError } from "../../registry-helpers.ts";

// The text exposition format 0.0.4 (prometheus/common expfmt): names, labels, values, comments.
const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`;
const VALUE = "(?:[-+]?(?:\\d+\\.?\\d*(?:[eE][-+]?\\d+)?|\\.\\d+(?:[eE][-+]?\\d+)?)|NaN|[+-]Inf)";
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(?:${LABEL}(?:,${LABEL})*,?)?\\})? ${VALUE}(?: -?\\d+)?$`);
const HELP = new RegExp(`^# HELP (${NAME}) (?:[^\\\\\\n]|\\\\[\\\\n])*$`);
const TYPE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|summary|histogram|untyped)$`);

/** Checks every line of an exposition against the grammar and the family rules; returns the problems. */
function formatProblems(text: string): string[] {
  const problems: string[] = [];
  if (!text.endsWith("\n")) problems.push("no final newline");
  const types = new Map<string, string>();
  const closed = new Set<string>();
  let current = "";
  const familyOf = (name: string) => {
    for (const suffix of ["_sum", "_count", "_bucket"]) {
      const base = name.slice(0, -suffix.length);
      if (name.endsWith(suffix) && ["summary", "histogram"].includes(types.get(base) ?? "")) return base;
    }
    return name;
  };
  text
    .slice(0, -1)
    .split("\n")
    .forEach((line, i) => {
      const at = `line ${i + 1}: ${line}`;
      const help = line.match(HELP);
      const type = line.match(TYPE);
      const sample = line.match(SAMPLE);
      const family = help?.[1] ?? type?.[1] ?? (sample ? familyOf(sample[1]!) : undefined);
      if (!family) return problems.push(`not exposition format: ${at}`);
      if (family !== current) {
        if (closed.has(family)) problems.push(`family ${family} not contiguous: ${at}`);
        if (current) closed.add(current);
        current = family;
      }
      if (type) {
        if (types.has(family)) problems.push(`second TYPE: ${at}`);
        types.set(family, type[2]!);
      }
      if (sample && types.get(family) === "summary" && sample[1] === family && !line.includes('quantile="')) problems.push(`summary sample without quantile: ${at}`);
    });
  return problems;
}

describe("GET /metrics", () => {
  it("speaks the Prometheus text format, with counters, latency summaries and drift scores", async () => {
    const { model, version, token: ingest } = await liveModel("metrics");
    const start = Math.floor(Date.now() / 60_000) * 60_000 - 5 * 60_000;
    await postReports(ingest, [
      makeReport(model, version, { start, errors: { validation: 3 }, latencyMs: [2, 4] }),
      makeReport(model, version, { start, tenure: [5], backend: 'we"ird\\\nname' }),
      makeReport(model, version, { start, errors: { session: 1 }, latencyMs: [8], backend: "webgpu" }),
    ]);
    await flush(model);
    // D1 counts a batch's rows only once it ran, so each flush record adds the previous flush's:
    // one more flush makes the first one's count visible
    await postReports(ingest, [makeReport(model, version, { start, client: "late" })]);
    await flush(model);
    const { token: read } = await createKey("default", "read");
    const res = await call("GET", "/metrics", { token: read });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const text = await res.text();
    expect(formatProblems(text)).toEqual([]);
    const labels = `model="${model}",app="default",version="${version}"`;
    expect(text).toContain(`driftline_reports_total{${labels},role="live"} 4\n`);
    expect(text).toContain(`driftline_rows_total{${labels},role="live"} 10\n`);
    expect(text).toContain(`driftline_errors_total{${labels},role="live",code="validation"} 3\n`);
    expect(text).toContain(`driftline_latency_ms_count{${labels},backend="wasm"} 6\n`);
    // a backend no runtime has is counted as `other` (collector/aggregates/known-keys.ts)
    expect(text).toContain(`driftline_latency_ms_count{${labels},backend="other"} 1\n`);
    expect(text).toMatch(new RegExp(`driftline_latency_ms\\{${labels},backend="webgpu",quantile="0.95"\\} 8\\n`));
    expect(text).toMatch(new RegExp(`driftline_feature_drift\\{${labels},feature="tenure",metric="ks"\\} `));
    expect(text).toMatch(new RegExp(`driftline_dataset_drift_share\\{${labels}\\} `));
    expect(text).toMatch(new RegExp(`driftline_ingest_d1_rows_written_total\\{model="${model}",app="default"\\} [1-9]`));
  });

  it("needs a read key", async () => {
    await expectError(await call("GET", "/metrics"), 401, "unauthorized");
    const { token } = await createKey("default", "ingest");
    await expectError(await call("GET", "/metrics", { token }), 403, "forbidden");
  });

  it("escapes label values", () => {
    const w = new PrometheusText();
    w.sample("a", "gauge", "b", { feature: 'we"ird\\\nname' }, 1);
    expect(w.render()).toBe('# HELP a b\n# TYPE a gauge\na{feature="we\\"ird\\\\\\nname"} 1\n');
  });

  it("checks the format checker itself", () => {
    expect(formatProblems('# HELP a b\n# TYPE a gauge\na{x="1"} 1\n')).toEqual([]);
    expect(formatProblems('a{x="un"escaped"} 1\n')).not.toEqual([]);
    expect(formatProblems("# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na 2\n")).not.toEqual([]);
    expect(formatProblems("a one\n")).not.toEqual([]);
  });
});
