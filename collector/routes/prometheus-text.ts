/** Prometheus metric types of the text exposition format 0.0.4. */
type MetricType = "counter" | "gauge" | "summary";

/** The Content-Type of the text exposition format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const escapeLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
const escapeHelp = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");

function formatValue(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "+Inf";
  if (x === -Infinity) return "-Inf";
  return String(x);
}

/**
 * Collects samples by metric family and renders the Prometheus text format: one HELP and TYPE
 * per family, its samples contiguous, label values escaped.
 *
 * @example
 * const w = new PrometheusText();
 * w.sample("driftline_reports_total", "counter", "Reports accepted.", { model: "churn" }, 42);
 * w.render();
 */
export class PrometheusText {
  private readonly families = new Map<string, { type: MetricType; help: string; lines: string[] }>();

  /**
   * Adds one sample.
   *
   * @param family - the metric family name (for a summary: without `_sum`/`_count`)
   * @param type - its type
   * @param help - its HELP text
   * @param labels - label names and values
   * @param value - the value
   * @param suffix - `_sum` or `_count` for summary parts
   */
  sample(family: string, type: MetricType, help: string, labels: Record<string, string | number>, value: number, suffix = ""): void {
    let f = this.families.get(family);
    if (!f) this.families.set(family, (f = { type, help, lines: [] }));
    const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(String(v))}"`);
    f.lines.push(`${family}${suffix}${pairs.length ? `{${pairs.join(",")}}` : ""} ${formatValue(value)}`);
  }

  /** The exposition text, ending in a newline. */
  render(): string {
    const out: string[] = [];
    for (const [name, f] of this.families) out.push(`# HELP ${name} ${escapeHelp(f.help)}`, `# TYPE ${name} ${f.type}`, ...f.lines);
    return out.length ? `${out.join("\n")}\n` : "";
  }
}
