import { type DriftAnswer, type EmbeddingDrift, type FeatureDrift, driftAnswerSchema } from "../../protocol/api.ts";
import { request, connection } from "../api.ts";
import { CONNECTION_OPTIONS, UsageError, intFlag, onePositional, parse } from "../args.ts";
import { table } from "../format.ts";
import { printableJson } from "../../protocol/printable.ts";
import { judgedWithoutHeaviest } from "../../protocol/drift/sender-trim.ts";
import { DRIFT_TEST_METRICS } from "../../protocol/drift-test-names.ts";
import type { Command } from "./command.ts";

const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Milliseconds of a `--since` duration like "90m", "1.5h", "7d"; a UsageError unless it is one,
 * longer than 0 (a range of no time holds nothing, and the collector refuses it) that starts
 * after 1970 (the collector's times are epoch milliseconds).
 *
 * @param text - the duration
 */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([mhd])$/.exec(text.trim());
  const ms = match ? Number(match[1]) * UNITS[match[2]!]! : 0;
  if (!(ms > 0)) throw new UsageError(`--since takes a duration longer than 0 like 30m, 1h or 7d, got "${text}"`);
  if (ms >= Date.now()) throw new UsageError(`--since ${text} reaches back before 1970`);
  return ms;
}

/** `driftline drift`: GET /v1/drift as a table (or JSON). */
export const drift: Command = {
  name: "drift",
  summary: "per-feature and prediction drift of a model version",
  usage: `driftline drift <model> [--version V] [--since 1h] [--segment key:value,…] [--json] [--url URL --key KEY] [--app APP]

  --version V     the version (default: the stable one)
  --since D       how far back: 30m, 1h, 7d (default 1h)
  --segment S     only traffic of this segment, e.g. backend:wasm,appVersion:4.2; segments are kept
                  per hour, so the range widens to whole hours (docs/ingest.md); a key or value
                  no client reported answers as no traffic
  --json          the API's answer as is`,
  async run(argv) {
    const { values, positionals } = parse(argv, { ...CONNECTION_OPTIONS, version: { type: "string" }, since: { type: "string" }, segment: { type: "string" }, json: { type: "boolean" } });
    const model = onePositional(positionals, "the model name");
    const to = Date.now();
    const from = to - parseDuration(values.since ?? "1h");
    const query = new URLSearchParams({ model, from: new Date(from).toISOString(), to: new Date(to).toISOString() });
    if (values.version) query.set("version", String(intFlag(values.version, "version", 1, 1e9)));
    if (values.segment) query.set("segment", values.segment);
    const answer = await request(connection(values), `/v1/drift?${query}`, { answer: driftAnswerSchema });
    console.log(values.json ? printableJson(answer, 2) : describeDrift(answer, values.segment));
  },
};

/** A verdict's word: DRIFT, ok, or why there is none (a word of {@link WHY_NONE}, else "no verdict"). */
function verdictWord(e: FeatureDrift): string {
  if (e.count === 0) return "no data";
  if (e.value !== null) return e.drifted ? "DRIFT" : "ok";
  if (e.sender_share >= 1) return "one sender";
  // metrics are all null only when the reference has no values (the window has: count > 0)
  if (e.metrics.psi === null) return "no reference";
  // chi-squared needs two bins: one bin over both sides is one value that did not move
  return e.test === "chi2" && e.metrics.chi2_pvalue === null ? "one value" : "no verdict";
}

/** What the table's words for a missing verdict mean, each said once under it when it shows. */
const WHY_NONE: Record<string, string> = {
  "one sender":
    'one sender: a single client network sent every value, and verdicts leave out the heaviest sender\'s share (docs/security.md); a fleet sends from many networks, but against a local collector every runtime sends from 127.0.0.1 unless its transport sets CF-Connecting-IP, as demo/simulator.ts does (docs/runtime.md "Node")',
  "no reference": "no reference: the profile has no values of the feature to compare with (a text profile made without --encoder has none of unknownTokens: docs/models.md)",
  "one value": "one value: the reference and the window hold one and the same value (an image's width from one camera), which chi-squared cannot test: nothing moved",
};

/** The embedding's line: its three measures against their thresholds, and the verdict. */
function embeddingLine(e: EmbeddingDrift): string {
  const { components: c, distance: d, mmd: m } = e;
  const verdict = e.sender_share > 0.5 ? "no verdict (one sender gave most of them)" : e.drifted ? "DRIFT" : "ok";
  return `embedding: ${e.count} embeddings; ${c.drifted} of ${c.of} components moved; distance ${fmt(d.value)} (threshold ${fmt(d.threshold)}); MMD² ${fmt(m.value)} (threshold ${fmt(m.threshold)}): ${verdict}`;
}

/** What a range without traffic prints: a user who just sent reports may query before they are filed. */
const NO_TRAFFIC = "no traffic in that range (predictions arrive with the runtime's next report, every 30 s by default, and show in queries about 10 s later)";

/**
 * `GET /v1/drift`'s answer as the command prints it: a table of features, drifted ones first, with the value each
 * verdict was taken on (the heaviest sender's share left out; "-" without a verdict) and its
 * threshold, the dataset's verdict, the embedding's, and why a feature has none.
 *
 * @param answer - the API's answer
 * @param segment - the `--segment` asked for, if any: a key or value no client reported has no traffic
 */
export function describeDrift(answer: DriftAnswer, segment?: string): string {
  const head = `${answer.model} v${answer.version}, ${answer.from} → ${answer.to}: ${answer.count} rows`;
  if (answer.count === 0 && segment) {
    return `${head}\nno traffic in segment ${segment} in that range (driftline segments list ${answer.model} shows the keys and values clients reported)`;
  }
  if (answer.count === 0) return `${head}\n${NO_TRAFFIC}`;
  // drifted features first (a wide model's would be scattered through hundreds of rows), else in the profile's order
  const features = Object.entries(answer.features);
  const entries = [...features.filter(([, e]) => e.drifted), ...features.filter(([, e]) => !e.drifted)];
  const judged = features.filter(([, e]) => judgedWithoutHeaviest(e)).length;
  if (answer.prediction) entries.push(["(prediction)", answer.prediction]);
  if (answer.entropy) entries.push(["(prediction entropy)", answer.entropy]);
  const lines = [
    head,
    table(
      ["feature", "kind", "rows", "test", "value", "untrimmed", "threshold", "psi", "js", "drift"],
      entries.map(([name, e]) => [
        name,
        e.kind,
        String(e.count),
        e.test,
        fmt(e.value),
        fmt(e.metrics[DRIFT_TEST_METRICS[e.test]]),
        fmt(e.threshold),
        fmt(e.metrics.psi),
        fmt(e.metrics.js),
        verdictWord(e),
      ]),
    ),
    "",
    `dataset: ${features.filter(([, e]) => e.drifted).length} of ${judged} features judged drifted (${(answer.dataset.drifted_share * 100).toFixed(0)}%)${answer.dataset.drifted ? " — DATASET DRIFT" : ""}`,
  ];
  const trimmed = Math.max(0, ...entries.map(([, e]) => (e.value === null ? 0 : e.sender_share)));
  if (trimmed > 0) {
    lines.push(`value: the test's value with the heaviest sender's share of the values (up to ${(trimmed * 100).toFixed(0)}%) left out, as the verdict took it; untrimmed: on all the values`);
  }
  const unseen = entries.filter(([, e]) => (e.metrics.unseen_share ?? 0) > 0).sort(([, a], [, b]) => b.metrics.unseen_share! - a.metrics.unseen_share!);
  if (unseen.length > 0) {
    lines.push(
      `unseen categories (values the profile does not list, compared as "other"): ${unseen.map(([name, e]) => `${name} ${e.metrics.unseen_share! < 0.001 ? "<0.1" : (e.metrics.unseen_share! * 100).toFixed(1)}%`).join(", ")}`,
    );
  }
  if (answer.embedding) lines.push(embeddingLine(answer.embedding));
  const words = new Set(entries.map(([, e]) => verdictWord(e)));
  for (const [word, why] of Object.entries(WHY_NONE)) if (words.has(word)) lines.push(why);
  return lines.join("\n");
}

function fmt(value: number | null | undefined): string {
  return value === null || value === undefined || Number.isNaN(value) ? "-" : value < 0.001 && value > 0 ? value.toExponential(1) : value.toFixed(3);
}
