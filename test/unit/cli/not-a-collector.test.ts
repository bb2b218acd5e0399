// The CLI pointed at a server that is not the collector: a proxy's sign-in page, a web site, a
// gateway's error page, an empty answer. Every command fails in one line that says so and what
// to check, never with a stack trace, and writes nothing as if it were the collector's answer.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./run-cli.ts";

const dir = mkdtempSync(join(tmpdir(), "driftline-not-collector-"));

/** What the server answers every request with, by the first part of its URL path. */
const ANSWERS: Record<string, { status: number; type: string; body: string }> = {
  html: { status: 200, type: "text/html", body: "<html><body>\n<h1>Sign in</h1>\n</body></html>" },
  empty: { status: 200, type: "text/plain", body: "" },
  json: { status: 200, type: "application/json", body: '{"hello":1}' },
  gateway: { status: 502, type: "text/html", body: "<html><head><title>502 Bad Gateway</title></head>\n<body><center><h1>502 Bad Gateway</h1></center>\n</body></html>" },
};

describe("driftline against a server that is not the collector", () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    // the collector URL may have a path (`--url https://example.com/html`): the first part picks the answer
    server = createServer((req, res) => {
      const answer = ANSWERS[req.url!.split("/")[1]!]!;
      req.resume();
      req.on("end", () => res.writeHead(answer.status, { "content-type": answer.type }).end(answer.body));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  const COMMANDS = [
    ["status"],
    ["status", "churn"],
    ["drift", "churn"],
    ["rollout", "churn", "--stable", "2"],
    ["promote", "churn"],
    ["rollback", "churn"],
    ["alerts", "churn"],
    ["slo", "churn"],
    ["segments", "list", "churn"],
    ["keys", "list"],
    ["keys", "revoke", "key_1"],
  ];

  it("says in one line that a 2xx answer is not the collector's JSON, for every command", async () => {
    for (const kind of ["html", "empty"]) {
      const url = `${base}/${kind}`;
      for (const argv of COMMANDS) {
        const result = await runCli(...argv, "--url", url, "--key", "adm_x");
        const what = `${kind}: ${argv.join(" ")}`;
        expect(result.code, what).toBe(1);
        expect(result.stderr, what).toMatch(
          new RegExp(
            `^driftline ${argv[0]}: [A-Z]+ \\S+ answered 200 with no JSON \\((text/html: "Sign in"|text/plain, empty)\\): is ${url} the Driftline collector\\? \\(--url or DRIFTLINE_URL\\)\\n$`,
          ),
        );
      }
    }
  });

  it("says in one line that JSON of another shape is not the collector's answer, for every command", async () => {
    const url = `${base}/json`;
    for (const argv of COMMANDS) {
      const result = await runCli(...argv, "--url", url, "--key", "adm_x");
      const what = argv.join(" ");
      expect(result.code, what).toBe(1);
      expect(result.stderr, what).toMatch(
        new RegExp(
          `^driftline ${argv[0]}: [A-Z]+ \\S+ answered 200 with no answer of the collector's shape \\(.+\\) \\(application/json: .+\\): is ${url} the Driftline collector\\? \\(--url or DRIFTLINE_URL\\)\\n$`,
        ),
      );
    }
  });

  it("says so before registering a version (publish)", async () => {
    const model = "test/fixtures/cancer/model/cancer-v1.onnx";
    const profile = join(dir, "profile.json");
    expect((await runCli("profile", "test/fixtures/cancer/data/train.csv", "--exclude", "diagnosis", "-o", profile)).code).toBe(0);
    const result = await runCli("publish", model, "--model", "cancer", "--profile", profile, "--url", `${base}/html`, "--key", "adm_x");
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^driftline publish: PUT \/v1\/artifacts\/[0-9a-f]{64} answered 200 with no JSON \(text\/html: "Sign in"\): is \S+ the Driftline collector\? \(--url or DRIFTLINE_URL\)\n$/,
    );
  });

  it("writes no rows, and makes no file, from a page that is not the collector's NDJSON (logs export)", async () => {
    const out = join(dir, "rows.ndjson");
    const result = await runCli("logs", "export", "churn", "-o", out, "--url", `${base}/html`, "--key", "adm_x");
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^driftline logs: GET \/v1\/logs\S* answered 200 with no NDJSON \(text\/html: "Sign in"\): is \S+ the Driftline collector\? \(--url or DRIFTLINE_URL\)\n$/);
    // no file at all: it is made once the collector has answered
    expect(existsSync(out)).toBe(false);
  });

  it("puts a gateway's error page on the one line as its text, without its markup", async () => {
    const result = await runCli("status", "churn", "--url", `${base}/gateway`, "--key", "adm_x");
    expect(result).toMatchObject({ code: 1, stderr: "driftline status: GET /v1/models/churn failed: 502 502 Bad Gateway 502 Bad Gateway\n" });
  });
});
