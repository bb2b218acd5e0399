// The CLI's own answers before and around a command: no command, a missing or unknown action,
// a file it cannot write. Each is one line (a usage mistake two: the mistake and where the usage is)
// on stderr with the documented exit code.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "./run-cli.ts";

const dir = mkdtempSync(join(tmpdir(), "driftline-main-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("driftline", () => {
  it("without a command prints its help to stderr and exits 2; with --help to stdout, exit 0", async () => {
    const bare = await runCli();
    expect(bare).toMatchObject({ code: 2, stdout: "" });
    expect(bare.stderr).toMatch(/^driftline — publish models/);
    const help = await runCli("--help");
    expect(help).toMatchObject({ code: 0, stderr: "" });
    expect(help.stdout).toMatch(/^driftline — publish models/);
  });

  it("names the missing or unknown action of a command that has several, before anything else", async () => {
    const cases: Array<[string[], string]> = [
      [["signing"], "missing the action: create"],
      [["segments"], "missing the action: list, reset"],
      [["segments", "--segment", "x", "churn"], "missing the action: list, reset"],
      [["keys", "rotate"], 'unknown action "rotate": create, list, revoke'],
      [["logs", "import", "churn"], 'unknown action "import": export'],
    ];
    for (const [argv, message] of cases) {
      const result = await runCli(...argv);
      expect(result.code, argv.join(" ")).toBe(2);
      expect(result.stderr.split("\n")[0], argv.join(" ")).toBe(`driftline ${argv[0]}: ${message}`);
    }
  });

  it("answers a usage mistake in two lines: what is wrong, and where the usage is", async () => {
    const result = await runCli("profile", "train.csv");
    expect(result).toMatchObject({ code: 2, stderr: "driftline profile: missing -o/--out FILE\n(driftline profile --help shows its usage)\n" });
  });

  it("asks for a collector URL with its scheme", async () => {
    for (const url of ["localhost:8787", "127.0.0.1:8787", "ftp://example.com"])
      expect(await runCli("status", "churn", "--url", url, "--key", "adm_x")).toMatchObject({
        code: 1,
        stderr: `driftline status: "${url}" is not an http:// or https:// URL (DRIFTLINE_URL or --url), e.g. http://127.0.0.1:8787\n`,
      });
  });

  it("says why a model file cannot be read", async () => {
    const csv = join(dir, "rows.csv");
    writeFileSync(csv, "a,b\n1,2\n");
    const model = join(dir, "no-such-model.onnx");
    expect(await runCli("profile", csv, "-o", join(dir, "p.json"), "--model", model)).toMatchObject({
      code: 1,
      stderr: `driftline profile: cannot read the model ${model}: no such file or directory\n`,
    });
    expect((await runCli("profile", csv, "-o", join(dir, "p.json"), "--model", dir)).stderr).toBe(`driftline profile: cannot read the model ${dir}: is a directory\n`);
  });

  it("says why each file a flag names cannot be read, a directory given for one included, without a stack", async () => {
    const csv = join(dir, "table.csv");
    writeFileSync(csv, "a,b\n1,2\n");
    const texts = join(dir, "texts.txt");
    writeFileSync(texts, "one text\n");
    const missing = join(dir, "missing.json");
    const model = "test/fixtures/cancer/model/cancer-v1.onnx";
    const cases: Array<[string[], string]> = [
      [["publish", model, "--model", "m", "--profile", dir, "--key", "adm_x"], `driftline publish: cannot read the profile ${dir}: is a directory`],
      [["publish", model, "--model", "m", "--profile", missing, "--key", "adm_x"], `driftline publish: cannot read the profile ${missing}: no such file or directory`],
      [["profile", "--text", dir, "-o", join(dir, "p.json")], `driftline profile: cannot read the texts ${dir}: is a directory`],
      [["profile", "--text", missing, "-o", join(dir, "p.json")], `driftline profile: cannot read the texts ${missing}: no such file or directory`],
      [["profile", "--text", texts, "--media", dir, "-o", join(dir, "p.json")], `driftline profile: cannot read the --media file ${dir}: is a directory`],
      [["profile", "--feeds", missing, "--model", model, "-o", join(dir, "p.json")], `driftline profile: cannot read the feeds ${missing}: no such file or directory`],
      [["profile", csv, "--embeddings", dir, "-o", join(dir, "p.json")], `driftline profile: cannot read the embeddings ${dir}: is a directory`],
    ];
    for (const [argv, message] of cases) expect(await runCli(...argv), argv.join(" ")).toMatchObject({ code: 1, stderr: `${message}\n` });
  });

  it("names the line of a text file that is not UTF-8 (a Latin-1 export) rather than keeping U+FFFD in the profile", async () => {
    const texts = join(dir, "latin1.txt");
    writeFileSync(texts, Buffer.concat([Buffer.from("one text\nanother\n"), Buffer.from("caf\xe9 au lait\n", "latin1")]));
    expect(await runCli("profile", "--text", texts, "-o", join(dir, "latin1.json"))).toMatchObject({
      code: 1,
      stderr: `driftline profile: ${texts}:3: not UTF-8 text (a Latin-1 or Windows-1252 export?): convert the file to UTF-8, e.g. with iconv -f cp1252 -t utf-8\n`,
    });
    expect(existsSync(join(dir, "latin1.json"))).toBe(false);
  });

  it("takes a version only in digits: not 0x10 or 1e3, which Number() reads as 16 and 1000", async () => {
    for (const [flag, value, ...more] of [
      ["--stable", "0x10"],
      ["--canary", "1e3", "--percent", "10"],
      ["--stable", "1.0"],
    ]) {
      const result = await runCli("rollout", "churn", flag!, value!, ...more, "--url", "http://127.0.0.1:9", "--key", "adm_x");
      expect(result.code, `${flag} ${value}`).toBe(2);
      expect(result.stderr.split("\n")[0]).toBe(`driftline rollout: ${flag} must be a whole number from 1 to 1000000000, got "${value}"`);
    }
  });

  it("refuses a --webhook that is not an http(s) URL before asking the collector", async () => {
    for (const url of ["notaurl", "ftp://hooks.example.com/x", "https://"]) {
      const result = await runCli("alerts", "churn", "--webhook", url, "--url", "http://127.0.0.1:9", "--key", "adm_x");
      expect(result.code, url).toBe(2);
      expect(result.stderr.split("\n")[0]).toBe(`driftline alerts: --webhook must be an http:// or https:// URL, got "${url}"`);
    }
  });

  it("refuses a range the collector cannot read before asking it: --since before 1970, --from that is no time", async () => {
    const cases: Array<[string[], string]> = [
      [["drift", "churn", "--since", "100000d"], "--since 100000d reaches back before 1970"],
      [["logs", "export", "churn", "--from", "yesterday"], '--from takes epoch milliseconds or an ISO 8601 date-time like 2026-12-01T00:00:00Z, got "yesterday"'],
      [["logs", "export", "churn", "--from", "1", "--to", "soon"], '--to takes epoch milliseconds or an ISO 8601 date-time like 2026-12-01T00:00:00Z, got "soon"'],
    ];
    for (const [argv, message] of cases) {
      const result = await runCli(...argv, "--url", "http://127.0.0.1:9", "--key", "adm_x");
      expect(result.code, argv.join(" ")).toBe(2);
      expect(result.stderr.split("\n")[0]).toBe(`driftline ${argv[0]}: ${message}`);
    }
  });

  it("refuses an argument signing create does not take, and makes no key", async () => {
    const key = join(dir, "extra.key");
    expect(await runCli("signing", "create", "-o", key, "publisher.key")).toMatchObject({
      code: 2,
      stderr: 'driftline signing: unexpected argument "publisher.key": the key file is -o FILE\n(driftline signing --help shows its usage)\n',
    });
    expect(existsSync(key)).toBe(false);
  });

  it("refuses a --since of no time in every command that takes one, before asking the collector", async () => {
    for (const [name, ...argv] of [
      ["drift", "churn"],
      ["logs", "export", "churn"],
      ["slo", "churn"],
    ]) {
      for (const since of ["0m", "0.0h", "1x"]) {
        const result = await runCli(name!, ...argv, "--since", since, "--url", "http://127.0.0.1:9", "--key", "adm_x");
        expect(result, `${name} --since ${since}`).toMatchObject({
          code: 2,
          stderr: `driftline ${name}: --since takes a duration longer than 0 like 30m, 1h or 7d, got "${since}"\n(driftline ${name} --help shows its usage)\n`,
        });
      }
    }
  });

  it("says in one line when a file cannot be written, without a stack", async () => {
    const result = await runCli("signing", "create", "-o", join(dir, "no-such-dir", "publisher.key"));
    expect(result).toMatchObject({ code: 1, stderr: `driftline signing: cannot open ${join(dir, "no-such-dir", "publisher.key")}: no such file or directory\n` });
  });
});
