// Every flag a command takes is documented: in its `--help`, and in README's "The CLI" section.
// Which flags a command takes is asked of the command itself: given `--flag x --zz-unknown`, its
// parser names the first flag it does not know, so a command that takes `--flag` names the other.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { projectRoot } from "../../../scripts/lib/root.mjs";
import { runCli } from "./run-cli.ts";

const root = projectRoot(import.meta.url);
const readme = readFileSync(`${root}README.md`, "utf8");
const cliSection = readme.slice(readme.indexOf("## The CLI"), readme.indexOf("## HTTP API"));

/** Each command with the arguments before its flags (the action of a command that has several). */
const COMMANDS: Array<[string, string[]]> = [
  ["profile", ["train.csv"]],
  ["publish", ["model.onnx"]],
  ["signing", ["create"]],
  ["rollout", ["churn"]],
  ["promote", ["churn"]],
  ["rollback", ["churn"]],
  ["status", []],
  ["drift", ["churn"]],
  ["slo", ["churn"]],
  ["alerts", ["churn"]],
  ["segments", ["list", "churn"]],
  ["logs", ["export", "churn"]],
  ["keys", ["list"]],
];

/** The long flags anything documents: each command's help and README's CLI section. */
async function candidateFlags(): Promise<string[]> {
  const texts = [cliSection];
  for (const [name] of COMMANDS) texts.push((await runCli(name, "--help")).stdout);
  return [...new Set(texts.join("\n").match(/--[a-z][a-z0-9-]*/g))].filter((f) => f !== "--help");
}

/** Whether `command` takes `flag`: its parser then names the unknown flag after it instead. */
async function takes(name: string, before: string[], flag: string): Promise<boolean> {
  const { stderr } = await runCli(name, ...before, flag, "x", "--zz-unknown");
  return !stderr.includes(`Unknown option '${flag}'`);
}

describe("driftline <command> --help", () => {
  it("names every flag the command takes, and README's CLI section does too", async () => {
    const candidates = await candidateFlags();
    const undocumented: string[] = [];
    for (const [name, before] of COMMANDS) {
      const usage = (await runCli(name, "--help")).stdout;
      for (const flag of candidates) {
        if (!(await takes(name, before, flag))) continue;
        const word = new RegExp(`${flag}(?![a-z0-9-])`);
        if (!word.test(usage)) undocumented.push(`${name} ${flag}: not in its --help`);
        if (!word.test(cliSection)) undocumented.push(`${name} ${flag}: not in README's CLI section`);
      }
    }
    expect(undocumented).toEqual([]);
  });
});
