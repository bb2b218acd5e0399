import { barChart } from "../charts/bar-chart.ts";
import { lineChart } from "../charts/line-chart.ts";
import { h, note, replace } from "../dom.ts";
import { count, ms } from "../format.ts";
import type { ModelRef } from "../model-ref.ts";
import type { BaselinePerformance, LatencyQuantiles, Rollout, Segments, StatsSeriesAnswer, StatsWindow } from "../types.ts";
import type { Window } from "../windows.ts";
import type { ViewContext } from "./context.ts";
import { windowLabels } from "./selection.ts";

/** Error codes get these colours in turn (styles.css `.s-err0` …). */
const ERROR_COLOURS = 4;

/** One column of the section: a live version and what it is. */
interface Column {
  version: number;
  title: string;
}

/** The quantiles of `backend`, or of the busiest backend when the reports are not sliced by backend. */
function latencyOf(s: StatsWindow, backend: string | null): LatencyQuantiles | undefined {
  if (backend !== null) return s.latency[backend];
  return Object.values(s.latency).sort((a, b) => b.count - a.count)[0];
}

function latencyChart(name: string, stats: readonly StatsWindow[], backend: string | null, labels: readonly string[], max: number): HTMLElement {
  const lat = stats.map((s) => latencyOf(s, backend));
  const calls = lat.reduce((a, l) => a + (l?.count ?? 0), 0);
  return h(
    "div",
    { class: "backend", "data-backend": backend ?? "all" },
    h("h4", {}, name, h("span", { class: "muted" }, ` · ${count(calls)} calls`)),
    calls === 0
      ? note("No calls in this range.")
      : lineChart({
          title: `${name}: latency per call (ms), p50 / p95 / p99`,
          labels,
          series: (["p50", "p95", "p99"] as const).map((q) => ({ name: q, values: lat.map((l) => l?.[q] ?? null), className: `s-${q}` })),
          format: ms,
          max,
        }),
  );
}

/** The highest p99 of `backend` in any window of any column: the latency charts of a backend share this scale. */
function slowest(columns: readonly (readonly StatsWindow[])[], backend: string | null): number {
  return Math.max(0, ...columns.flatMap((stats) => stats.map((s) => latencyOf(s, backend)?.p99 ?? 0)));
}

function errorsChart(stats: readonly StatsWindow[], labels: readonly string[]): HTMLElement {
  const codes = [...new Set(stats.flatMap((s) => Object.keys(s.errors)))].sort();
  const rows = stats.reduce((a, s) => a + s.rows, 0);
  const errors = stats.reduce((a, s) => a + Object.values(s.errors).reduce((x, y) => x + y, 0), 0);
  return h(
    "div",
    { class: "errors" },
    h("h4", {}, "errors, all backends", h("span", { class: "muted" }, ` · ${count(rows)} rows · ${count(errors)} errors`)),
    codes.length === 0
      ? note(rows === 0 ? "No traffic in this range." : "No errors.")
      : barChart({
          title: "errors by code",
          labels,
          series: codes.map((code, i) => ({ name: code, values: stats.map((s) => s.errors[code] ?? 0), className: `s-err${i % ERROR_COLOURS}` })),
          format: (x) => count(x),
          stacked: true,
        }),
  );
}

/**
 * Accuracy per window from on-device labels and estimated without them (with the band realised
 * accuracy is expected in), beside the baseline the profile recorded on the reference data;
 * nothing when no window has either.
 */
function accuracyChart(stats: readonly StatsWindow[], baseline: BaselinePerformance | null, labels: readonly string[]): HTMLElement | null {
  const live = stats.map((s) => (s.performance && "accuracy" in s.performance ? s.performance.accuracy : null));
  const estimated = stats.map((s) => s.estimated?.accuracy ?? null);
  if (live.every((a) => a === null) && estimated.every((a) => a === null)) return null;
  const series = [{ name: "from labels", values: live, className: "s-p50" }];
  if (estimated.some((a) => a !== null)) {
    series.push({ name: "estimated", values: estimated, className: "s-estimate" });
    series.push({ name: "band", values: stats.map((s) => s.estimated?.band.accuracy[0] ?? null), className: "s-band" });
    series.push({ name: "", values: stats.map((s) => s.estimated?.band.accuracy[1] ?? null), className: "s-band" });
  }
  if (baseline?.kind === "classification") series.push({ name: "baseline", values: labels.map(() => baseline.accuracy), className: "s-p95" });
  return lineChart({ title: "accuracy: from on-device labels, and estimated without them", labels, series, format: (x) => x.toFixed(3) });
}

function column(col: Column, { windows: stats, baseline }: StatsSeriesAnswer, backends: readonly (string | null)[], labels: readonly string[], top: ReadonlyMap<string | null, number>): HTMLElement {
  const accuracy = accuracyChart(stats, baseline, labels);
  return h(
    "div",
    { class: "column", "data-version": col.version },
    h("h3", {}, col.title),
    accuracy ? h("div", { class: "accuracy" }, accuracy) : [],
    backends.map((backend) => latencyChart(backend ?? "all backends", stats, backend, labels, top.get(backend)!)),
    errorsChart(stats, labels),
  );
}

/**
 * Accuracy from on-device labels against the baseline (when labels come in), then latency
 * (p50/p95/p99) per backend and window (the stats' latency sketch is kept per backend) and
 * errors by code per window, from unsliced `GET /v1/stats/series` (six windows a request); the canary beside
 * the stable version when one runs, each backend's latency on one scale in both.
 *
 * @param ctx - the app's context
 * @param body - where to render
 * @param model - the model
 * @param rollout - its rollout (which versions are live)
 * @param segments - its segment values (the backends)
 * @param windows - the windows
 */
export async function renderLatency(ctx: ViewContext, body: HTMLElement, model: ModelRef, rollout: Rollout | null, segments: Segments, windows: readonly Window[]): Promise<void> {
  if (!rollout) return replace(body, note("No rollout yet."));
  const columns: Column[] = [{ version: rollout.stable, title: `stable v${rollout.stable}` }];
  if (rollout.canary) columns.push({ version: rollout.canary.version, title: `canary v${rollout.canary.version} · ${rollout.canary.percent}%` });
  const backends = segments.backend?.length ? segments.backend : [null];
  const labels = windowLabels(windows);
  // unsliced: a query sliced by a segment covers whole hours (segments are kept per hour), and
  // the latency sketch is kept per backend anyway
  const series = await Promise.all(columns.map((c) => ctx.api.statsSeries({ model, version: c.version }, windows)));
  // the stable and the canary side by side on one scale per backend, or the faster would look as slow
  const top = new Map(
    backends.map((backend) => [
      backend,
      slowest(
        series.map((s) => s.windows),
        backend,
      ),
    ]),
  );
  replace(
    body,
    h(
      "div",
      { class: columns.length > 1 ? "columns two" : "columns" },
      columns.map((c, i) => column(c, series[i]!, backends, labels, top)),
    ),
  );
}
