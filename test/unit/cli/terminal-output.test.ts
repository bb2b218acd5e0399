// What clients wrote reaches the terminal of whoever runs the CLI: segment values and backend and
// device names are an ingest key holder's words, and an ingest key is public. The commands print
// them with control characters escaped, so a report cannot move the cursor, clear the screen, set
// the window title or hide a line in someone's terminal.
import { afterEach, describe, expect, it, vi } from "vitest";
import { runCli } from "./run-cli.ts";

/** ESC [2J (clear the screen), OSC 0 (window title), and the same CSI as one C1 character (U+009B). */
const HOSTILE = "\u001b[2J\u001b]0;owned\u0007\u009b31mred\r";
/** Each control character escaped as `\uXXXX`: printable, and still says what was sent. */
const ESCAPED = "\\u001b[2J\\u001b]0;owned\\u0007\\u009b31mred\\u000d";

/** Answers each GET of the stand-in collector with `answers[pathname]`. */
function collector(answers: Record<string, unknown>): void {
  vi.spyOn(globalThis, "fetch").mockImplementation(async (url) => Response.json(answers[new URL(String(url)).pathname] ?? {}));
}

const connection = ["--url", "http://collector.test", "--key", "adm_test"];
// every C0 and C1 control character but the line breaks the commands print themselves
const controls = (text: string) => [...text.matchAll(/[\p{Cc}]/gu)].map((m) => m[0]).filter((c) => c !== "\n");

afterEach(() => void vi.restoreAllMocks());

describe("CLI output of what clients sent", () => {
  it("segments list escapes control characters in segment values", async () => {
    collector({ "/v1/segments": { model: "churn", segments: { appVersion: ["4.2", HOSTILE] } } });
    const result = await runCli("segments", "list", "churn", ...connection);
    expect(result.code, result.stderr).toBe(0);
    expect(controls(result.stdout)).toEqual([]);
    expect(result.stdout).toContain(`4.2, ${ESCAPED}`);
  });

  it("alerts escapes control characters in an alert's subject and in why its webhook failed", async () => {
    const alert = {
      id: 1,
      app: "demo",
      model: "churn",
      version: 1,
      kind: "latency_p95",
      subject: `device:${HOSTILE}`,
      state: "firing",
      value: 500,
      threshold: 20,
      window: { from: "2025-12-31T23:00:00.000Z", to: "2026-01-01T00:00:00.000Z" },
      message: "",
      at: "2026-01-01T00:00:00.000Z",
    };
    // the webhook receiver's answer is a third party's words too
    const failed = { ...alert, id: 2, deliveredAt: null, attempts: 2, lastError: `HTTP 500: ${HOSTILE}`, retryAt: "2026-01-01T00:03:00.000Z" };
    collector({
      "/v1/models/churn/alerts": { model: "churn", webhook: "https://hooks.example.com" },
      "/v1/alerts": { alerts: [failed, { ...alert, deliveredAt: "2026-01-01T00:01:00.000Z", attempts: 1, lastError: null, retryAt: null }] },
    });
    const result = await runCli("alerts", "churn", ...connection);
    expect(result.code, result.stderr).toBe(0);
    expect(controls(result.stdout)).toEqual([]);
    expect(result.stdout).toContain(`latency_p95 device:${ESCAPED}`);
    expect(result.stdout).toContain(`not delivered after 2 attempts: HTTP 500: ${ESCAPED}`);
    expect(result.stdout).toContain("delivered 2026-01-01T00:01:00.000Z");
  });

  it("--json escapes the C1 characters JSON leaves as they are, and stays the same JSON", async () => {
    // the whole answer, as the collector gives it (the CLI checks its shape)
    const stats = {
      skipped: 0,
      model: "churn",
      version: 1,
      role: "live",
      segment: "",
      from: "a",
      to: "b",
      reports: 0,
      rows: 0,
      errors: {},
      error_rate: null,
      latency_p95_ms: null,
      latency: {},
      performance: null,
      estimated: null,
      baseline: null,
      shadow: {},
      slo: { period: { from: "a", to: "b", days: 30 }, objectives: [{ kind: "latency_p95", subject: `backend:${HOSTILE}`, target: 20, value: 1, met: true, judged_met: true, budget_left: 1 }] },
    };
    collector({ "/v1/models/churn/alerts": { model: "churn", webhook: null }, "/v1/stats": stats });
    const result = await runCli("slo", "churn", "--json", ...connection);
    expect(result.code, result.stderr).toBe(0);
    expect(controls(result.stdout)).toEqual([]);
    expect(JSON.parse(result.stdout).slo).toEqual(stats.slo);
  });
});
