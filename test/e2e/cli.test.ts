// The real `driftline` CLI against a real local collector: the ML engineer's whole path from a
// trained model to a rollout, and the one-line failures along the way.
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, startCollector } from "../../scripts/lib/collector-process.mjs";
import { signatureProblem } from "../../protocol/signature.ts";
import { runCliOutputClosed, runCliProcess } from "./cli-process.ts";

const ADMIN = "adm_cli_e2e_bootstrap";

/** The SHA-256 (hex) of a file. */
const sha256Of = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

describe("driftline CLI against a local collector", () => {
  const dir = mkdtempSync(join(tmpdir(), "driftline-cli-e2e-"));
  let collector: Awaited<ReturnType<typeof startCollector>>;

  /** Runs the CLI; resolves to its exit code and output (never rejects). */
  const cli = (args: string[], env: Record<string, string> = {}) => runCliProcess(args, { DRIFTLINE_URL: collector.url, DRIFTLINE_ADMIN_KEY: ADMIN, ...env });

  beforeAll(async () => {
    // two log objects a request, so the logs export below takes pages
    collector = await startCollector({ adminKey: ADMIN, persistTo: join(dir, "state"), vars: { LOG_EXPORT_MAX_OBJECTS: "2" } });
    for (const v of ["v1", "v2"]) {
      const profiled = await cli([
        "profile",
        "test/fixtures/cancer/data/train.csv",
        "--exclude",
        "diagnosis",
        "--model",
        `test/fixtures/cancer/model/cancer-${v}.onnx`,
        "--labels",
        "malignant,benign",
        "-o",
        join(dir, `${v}.json`),
      ]);
      expect(profiled.code, profiled.stderr).toBe(0);
    }
  });

  afterAll(async () => {
    await collector?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("publishes v1 as stable and v2 as a candidate, printing each version", async () => {
    const first = await cli(["publish", "test/fixtures/cancer/model/cancer-v1.onnx", "--model", "cancer", "--profile", join(dir, "v1.json"), "--app", "demo", "--meta", "trainer=sklearn"]);
    expect(first.stderr).toMatch(/uploaded, sha256/);
    expect(first.stdout).toMatch(/^cancer version 1 \(sha256 [0-9a-f]{12}…, 817 B\)$/m);
    const second = await cli(["publish", "test/fixtures/cancer/model/cancer-v2.onnx", "--model", "cancer", "--profile", join(dir, "v2.json")]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/^cancer version 2 /m);
    expect(second.stdout).toMatch(/driftline rollout cancer --canary 2 --percent 10/);
  });

  it("says that bytes published before with this profile stay as they were, with no rollout hint", async () => {
    const again = await cli(["publish", "test/fixtures/cancer/model/cancer-v2.onnx", "--model", "cancer", "--profile", join(dir, "v2.json")]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe(`cancer version 2 already has these bytes (sha256 ${sha256Of("test/fixtures/cancer/model/cancer-v2.onnx").slice(0, 12)}…) and this profile: kept as published\n`);
  });

  it("publishes bytes profiled again as a new version, which keeps the new profile", async () => {
    const model = "cancer-reprofiled";
    // the same model profiled again, on other rows (a profile made with another model is refused)
    const again = await cli([
      "profile",
      "test/fixtures/cancer/data/live.csv",
      "--exclude",
      "diagnosis",
      "--model",
      "test/fixtures/cancer/model/cancer-v2.onnx",
      "--labels",
      "malignant,benign",
      "-o",
      join(dir, "v2-live.json"),
    ]);
    expect(again.code, again.stderr).toBe(0);
    const published = async (profile: string) => {
      const run = await cli(["publish", "test/fixtures/cancer/model/cancer-v2.onnx", "--model", model, "--profile", join(dir, profile), "--app", "demo"]);
      expect(run.code, run.stderr).toBe(0);
      return run.stdout.split("\n")[0];
    };
    expect(await published("v2-live.json")).toMatch(/^cancer-reprofiled version 1 \(sha256 /);
    expect(await published("v2.json")).toMatch(/^cancer-reprofiled version 2 \(sha256 /);
    expect(await published("v2-live.json")).toMatch(/^cancer-reprofiled version 1 already has these bytes .* and this profile: kept as published$/);
    expect(await published("v2.json")).toMatch(/^cancer-reprofiled version 2 already has these bytes .* and this profile: kept as published$/);
    type Profile = Record<string, unknown>;
    const served = async (v: number) =>
      ((await (await fetch(`${collector.url}/v1/models/${model}/versions/${v}`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as { manifest: { profile: Profile } }).manifest.profile;
    const given = (file: string) => (JSON.parse(readFileSync(join(dir, file), "utf8")) as { profile: Profile }).profile;
    expect([await served(1), await served(2)]).toEqual([given("v2-live.json"), given("v2.json")]);
    expect(given("v2-live.json")).not.toEqual(given("v2.json"));
  });

  it("refuses to promote without a canary as a failure (exit 1), not as a usage mistake", async () => {
    const promoted = await cli(["promote", "cancer"]);
    expect(promoted).toMatchObject({ code: 1, stderr: "driftline promote: cancer has no canary to promote (stable is version 1)\n" });
  });

  it("stops quietly when the reader of its output goes away (driftline status | head)", async () => {
    for (let i = 0; i < 3; i++) expect(await runCliOutputClosed(["status", "cancer"], { DRIFTLINE_URL: collector.url, DRIFTLINE_ADMIN_KEY: ADMIN })).toEqual({ code: 0, stderr: "" });
  });

  it("canaries, promotes and rolls back, each change audited and shown by status", async () => {
    expect((await cli(["rollout", "cancer", "--canary", "2", "--percent", "10"])).stdout).toMatch(/cancer: stable v1, canary v2 at 10% \(config 2\)/);
    expect((await cli(["promote", "cancer"])).stdout).toMatch(/promoted version 2; stable v2 \(config 3\)/);
    expect((await cli(["rollback", "cancer"])).stdout).toMatch(/stable v1 \(config 4\)/);
    const all = await cli(["status"]);
    expect(all.stdout).toMatch(/^model +app +latest +rollout +rows \(1 h\) +errors \(1 h\)$/m);
    expect(all.stdout).toMatch(/^cancer +demo +v2 +stable v1 .* \d[\d,]* +\d[\d,]*$/m);
    const status = await cli(["status", "cancer"]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/cancer \(app demo\): stable v1 \(config 4\)/);
    expect(status.stdout).toMatch(/^v1 +[0-9a-f]{12} +817 B +398 /m);
    expect(status.stdout).toMatch(/^v2 /m);
    expect(status.stdout).toMatch(/^performance of v1, last 24 h: (no labels yet|accuracy \d\.\d{3}) .*· (no baseline|baseline accuracy)/m);
    expect(status.stdout.match(/^\d{4}-\d\d-\d\dT.*(rollout|rollback|promote|canary|stable)/gm)?.length).toBeGreaterThanOrEqual(3);
    const json = JSON.parse((await cli(["status", "cancer", "--json"])).stdout);
    expect(json.rollout).toMatchObject({ stable: 1, canary: null, configVersion: 4 });
  });

  it("rolls back once when the answer to its rollback is lost after the collector took it, and not at all over a rollout changed meanwhile", async () => {
    const model = "cancer-once";
    for (const v of ["v1", "v2"]) expect((await cli(["publish", `test/fixtures/cancer/model/cancer-${v}.onnx`, "--model", model, "--profile", join(dir, `${v}.json`), "--app", "demo"])).code).toBe(0);
    expect((await cli(["rollout", model, "--stable", "2"])).stdout).toMatch(/stable v2 \(config 2\)/);
    // the collector rolls back, and the connection closes before its answer reaches the CLI
    const lost = await proxyCollector(collector.url, async (post) => {
      const answer = await post.forward();
      return post.path.endsWith("/rollback") && post.nth === 1 ? "close" : answer;
    });
    try {
      const once = await cli(["rollback", model], { DRIFTLINE_URL: lost.url });
      expect(once, once.stderr).toMatchObject({ code: 0, stdout: `${model}: rollback; stable v1 (config 3)\n` });
      expect(lost.posts).toBe(2);
    } finally {
      await lost.close();
    }
    const audit = async () => JSON.parse((await cli(["status", model, "--json"])).stdout) as { rollout: { stable: number; configVersion: number }; audit: { action: string }[] };
    expect((await audit()).rollout).toMatchObject({ stable: 1, configVersion: 3 });
    expect((await audit()).audit.filter((a) => a.action === "rollback")).toHaveLength(1);

    // another operator starts a canary between the CLI's read and its rollback: nothing is rolled back
    expect((await cli(["rollout", model, "--stable", "2"])).code).toBe(0);
    const raced = await proxyCollector(collector.url, async (post) => {
      if (post.path.endsWith("/rollback")) expect((await cli(["rollout", model, "--canary", "1", "--percent", "5"])).code).toBe(0);
      return post.forward();
    });
    try {
      const refused = await cli(["rollback", model], { DRIFTLINE_URL: raced.url });
      expect(refused).toMatchObject({
        code: 1,
        stderr: `driftline rollback: ${model}'s rollout changed since it was read (config 4 → 5, rollout): nothing rolled back; see driftline status ${model}\n`,
      });
    } finally {
      await raced.close();
    }
    expect((await audit()).rollout).toMatchObject({ stable: 2, configVersion: 5 });
  });

  it("creates, lists and revokes keys; the token is printed once and only its prefix listed", async () => {
    const created = await cli(["keys", "create", "--app", "demo", "--role", "ingest", "--label", "web"]);
    expect(created.code, created.stderr).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^ing_[A-Za-z0-9_-]{20,}$/);
    const listed = await cli(["keys", "list", "--app", "demo"]);
    expect(listed.stdout).toContain("ingest");
    expect(listed.stdout).not.toContain(token);
    const id = listed.stdout
      .split("\n")
      .find((l) => l.includes(" web "))!
      .split(/\s+/)[0]!;
    const revoked = (await cli(["keys", "revoke", id])).stdout.trim();
    expect(revoked).toMatch(new RegExp(`^revoked ingest key ${id} \\(ing_.*…\\) of app demo at \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z$`));
    // revoking it again changes nothing, and says when it was revoked
    expect((await cli(["keys", "revoke", id])).stdout.trim()).toBe(revoked);
    expect((await cli(["keys", "list", "--app", "demo"])).stdout).toMatch(/revoked/);
    // an app with no keys (a misspelt one) is said so, not printed as an empty table
    expect((await cli(["keys", "list", "--app", "dmeo"])).stdout).toBe('no keys in app "dmeo" (an app is made by its first key or model): driftline keys create --app dmeo --role admin|ingest|read\n');
  });

  it("says whether a key create whose answer was lost made the key, never sending it again", async () => {
    const create = ["keys", "create", "--app", "demo", "--role", "ingest", "--label", "lost answer"];
    // the collector makes the key; its answer, with the only copy of the token, is lost
    const lost = await proxyCollector(collector.url, async (post) => {
      const answer = await post.forward();
      return post.path.startsWith("/v1/keys") ? "close" : answer;
    });
    let made: { code: number; stdout: string; stderr: string };
    try {
      made = await cli(create, { DRIFTLINE_URL: lost.url });
      expect(lost.posts).toBe(1);
    } finally {
      await lost.close();
    }
    const id = /but made ingest key (\S+) all the same/.exec(made.stderr)?.[1];
    expect(made.code, made.stderr).toBe(1);
    expect(made.stderr).toBe(
      `driftline keys: the collector at ${lost.url} does not answer (UND_ERR_SOCKET), but made ingest key ${id} all the same, whose token is lost: revoke it (driftline keys revoke ${id}) and create another\n`,
    );
    expect((await cli(["keys", "list", "--app", "demo"])).stdout).toMatch(new RegExp(`^${id} .* lost answer .* active$`, "m"));
    expect((await cli(["keys", "revoke", id!])).code).toBe(0);
    // the connection closes before the collector got the create: no key, and the user may run it again
    const dropped = await proxyCollector(collector.url, async () => "close");
    try {
      const none = await cli(create, { DRIFTLINE_URL: dropped.url });
      expect(none).toMatchObject({ code: 1, stderr: `driftline keys: the collector at ${dropped.url} does not answer (UND_ERR_SOCKET), and made no such key: run the command again\n` });
    } finally {
      await dropped.close();
    }
  });

  it("lists segment values and resets a segment key", async () => {
    const listed = await cli(["segments", "list", "cancer"]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout.trim()).toBe("key  values");
    const reset = await cli(["segments", "reset", "cancer", "--segment", "appVersion"]);
    expect(reset.code, reset.stderr).toBe(0);
    expect(reset.stdout.trim()).toBe("cancer: forgot 0 admitted values of segment key appVersion");
    expect((await cli(["segments", "reset", "cancer"])).stdout.trim()).toBe("cancer: forgot 0 admitted values of every segment key");
    expect((await cli(["segments", "reset"])).code).toBe(2);
  });

  it('lets another app publish its own "cancer"; the bootstrap key then names the app with --app or DRIFTLINE_APP', async () => {
    const rival = (await cli(["keys", "create", "--app", "rival", "--role", "admin"])).stdout.trim();
    const theirs = await cli(["publish", "test/fixtures/cancer/model/cancer-v2.onnx", "--model", "cancer", "--profile", join(dir, "v2.json")], { DRIFTLINE_ADMIN_KEY: rival });
    expect(theirs.code, theirs.stderr).toBe(0);
    expect(theirs.stdout).toMatch(/^cancer version 1 /m);
    const ambiguous = await cli(["status", "cancer"]);
    expect(ambiguous.code).toBe(1);
    expect(ambiguous.stderr).toMatch(/model "cancer" exists in apps "demo", "rival": name one with \?app=/);
    expect((await cli(["status", "cancer", "--app", "rival"])).stdout).toMatch(/cancer \(app rival\): stable v1 \(config 1\)/);
    expect((await cli(["status", "cancer"], { DRIFTLINE_APP: "demo" })).stdout).toMatch(/cancer \(app demo\): stable v1 \(config 4\)/);
    // the rival's own key sees only its model
    expect((await cli(["status", "cancer"], { DRIFTLINE_ADMIN_KEY: rival })).stdout).toMatch(/cancer \(app rival\)/);
  });

  it("binds an ingest key to origins: listed, served to those origins' pages, refused to others", async () => {
    const created = await cli([
      "keys",
      "create",
      "--app",
      "demo",
      "--role",
      "ingest",
      "--label",
      "shop",
      "--origin",
      "https://App.Example.com",
      "--origin",
      "https://shop.example.com:8443,http://localhost:5173",
    ]);
    expect(created.code, created.stderr).toBe(0);
    const token = created.stdout.trim();
    const row = (await cli(["keys", "list", "--app", "demo"])).stdout.split("\n").find((l) => l.includes(" shop "))!;
    expect(row).toContain("https://app.example.com,https://shop.example.com:8443,http://localhost:5173");
    const assignment = (origin: string) => fetch(`${collector.url}/v1/assignment?model=cancer&client=c1`, { headers: { Authorization: `Bearer ${token}`, Origin: origin } });
    const allowed = await assignment("https://app.example.com");
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    const refused = await assignment("https://evil.example.net");
    expect(refused.status).toBe(403);
    expect(refused.headers.get("access-control-allow-origin")).toBeNull();

    const bad = await cli(["keys", "create", "--app", "demo", "--role", "ingest", "--origin", "https://app.example.com/path"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--origin must be scheme:\/\/host\[:port\]/);
    const notIngest = await cli(["keys", "create", "--app", "demo", "--role", "read", "--origin", "https://app.example.com"]);
    expect(notIngest.code).toBe(2);
    expect(notIngest.stderr).toMatch(/--origin binds ingest keys only/);
  });

  it("says in one line when the key is wrong, the collector is down, or the profile does not fit the model", async () => {
    const wrongKey = await cli(["status", "cancer"], { DRIFTLINE_ADMIN_KEY: "adm_wrong" });
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr.trim().split("\n")).toHaveLength(1);
    expect(wrongKey.stderr).toMatch(/refused the key \(401/);

    const down = await cli(["status"], { DRIFTLINE_URL: `http://127.0.0.1:${await freePort()}` });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^driftline status: the collector at http:\/\/127\.0\.0\.1:\d+ does not answer \(ECONNREFUSED\)\n$/);

    const profile = JSON.parse(readFileSync(join(dir, "v1.json"), "utf8"));
    profile.features = profile.features.slice(0, 29);
    delete profile.profile.features[Object.keys(profile.profile.features)[29]!];
    writeFileSync(join(dir, "short.json"), JSON.stringify(profile));
    const mismatch = await cli(["publish", "test/fixtures/cancer/model/cancer-v1.onnx", "--model", "cancer", "--profile", join(dir, "short.json")]);
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr.trim()).toBe(
      "driftline publish: the model's input \"features\" has 30 columns but the profile's 29 features make 29 (encoding index): profile again with --exclude (the target, ids), --categorical or --encoding",
    );
  });

  it("makes a signing key and publishes a signed version whose signature the protocol verifies", async () => {
    const keyFile = join(dir, "publisher.key");
    const created = await cli(["signing", "create", "-o", keyFile]);
    expect(created.code, created.stderr).toBe(0);
    const publicKey = created.stdout.trim();
    expect(publicKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(readFileSync(`${keyFile}.pub`, "utf8").trim()).toBe(publicKey);
    expect((await cli(["signing", "create", "-o", keyFile])).stderr).toMatch(/exists; a signing key is never overwritten/);
    const signed = await cli(["publish", "test/fixtures/cancer/model/cancer-v2.onnx", "--model", "signed-cancer", "--profile", join(dir, "v2.json"), "--app", "demo", "--sign", keyFile]);
    expect(signed.code, signed.stderr).toBe(0);
    expect(signed.stdout).toMatch(/^signed-cancer version 1 .*, signed\)$/m);
    const res = await fetch(`${collector.url}/v1/models/signed-cancer/versions/1?app=demo`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const { manifest } = (await res.json()) as { manifest: Parameters<typeof signatureProblem>[0] };
    expect(await signatureProblem(manifest, [publicKey])).toBeUndefined();
    expect(await signatureProblem({ ...manifest, size: 1 } as never, [publicKey])).toBe("the signature does not match the manifest");
  });

  it("explains usage mistakes with exit code 2", async () => {
    const result = await cli(["rollout", "cancer", "--canary", "2"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--canary needs --percent/);
    expect((await cli(["nope"])).code).toBe(2);
  });

  it("turns prediction logging on with a log rate and retention, and exports the logged rows to a file", async () => {
    // before: an export of a model that logs nothing says why there are no rows
    const off = await cli(["logs", "export", "cancer", "--app", "demo"]);
    expect(off.code, off.stderr).toBe(0);
    expect(off.stderr).toBe("cancer: 0 rows; logging is off: driftline rollout cancer --log-rate R turns it on for apps that pass createRuntime({ logging: true })\n");
    const on = await cli(["rollout", "cancer", "--app", "demo", "--log-rate", "0.01", "--log-retention", "14"]);
    expect(on.code, on.stderr).toBe(0);
    expect(on.stdout).toMatch(/logging 1% of rows for 14 days/);
    const ingest = (await cli(["keys", "create", "--app", "demo", "--role", "ingest"])).stdout.trim();
    const auth = { authorization: `Bearer ${ingest}` };
    const assignment = (await (await fetch(`${collector.url}/v1/assignment?model=cancer&client=e2e`, { headers: auth })).json()) as {
      version: number;
      logRate: number;
      manifest: { features: { name: string }[] };
    };
    expect(assignment.logRate).toBe(0.01);
    const inputs = Object.fromEntries(assignment.manifest.features.map((f, i) => [f.name, i + 0.5]));
    // three clients' batches, one object each: two pages of two objects at most
    const rows = [0, 1, 2, 3, 4, 5].map((i) => ({ id: `e2e.${i}`, version: assignment.version, t: Date.now() - i, segment: {}, inputs, label: "benign", score: 0.9 }));
    for (const c of [0, 1, 2]) {
      const posted = await fetch(`${collector.url}/v1/logs`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ id: `e2e-batch-${c}`, model: "cancer", client: `e2e-${c}`, rows: rows.slice(2 * c, 2 * c + 2), labels: [] }),
      });
      expect(posted.status).toBe(200);
    }
    const file = join(dir, "rows.ndjson");
    const exported = await cli(["logs", "export", "cancer", "--app", "demo", "--since", "1d", "-o", file]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stderr).toMatch(/^cancer: [24] rows after page 1, more to come\ncancer: 6 rows written to /);
    const written = readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { id: string });
    expect(written.sort((a, b) => (a.id < b.id ? -1 : 1))).toEqual(rows);
    expect((await cli(["logs", "export", "cancer", "--since", "1d", "--from", "0"])).code).toBe(2);
    expect((await cli(["logs", "export", "cancer", "--app", "demo"], { DRIFTLINE_ADMIN_KEY: ingest })).stderr).toMatch(/this key may not do that \(403 forbidden/);
  });
});

/** A POST the proxy of {@link proxyCollector} got: its path, its number (1 for the first), and how to forward it. */
interface ProxiedPost {
  path: string;
  nth: number;
  /** Sends it to the collector and reads the answer. */
  forward(): Promise<Response>;
}

/**
 * A local HTTP proxy in front of the collector whose `handle` decides each POST's fate: forward it
 * and pass the answer on, or forward it and close the connection unanswered ("close": the
 * collector took the request, its answer is lost). Other requests pass through.
 *
 * @param target - the collector's URL
 * @param handle - what to answer a POST
 */
async function proxyCollector(target: string, handle: (post: ProxiedPost) => Promise<Response | "close">) {
  let posts = 0;
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => !["host", "connection", "content-length"].includes(name))) as Record<string, string>;
    const forward = () => fetch(target + req.url, { method: req.method, headers, body: chunks.length > 0 ? Buffer.concat(chunks) : undefined });
    const answer = req.method === "POST" ? await handle({ path: req.url ?? "", nth: ++posts, forward }) : await forward();
    if (answer === "close") return void req.socket.destroy();
    res.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "application/json" }).end(Buffer.from(await answer.arrayBuffer()));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** How many POSTs came. */
    get posts() {
      return posts;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
