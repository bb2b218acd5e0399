import { DriftlineError } from "../protocol/errors.ts";
import { CliError, UsageError, fileReason } from "./args.ts";
import type { Command } from "./commands/command.ts";
import { alerts } from "./commands/alerts.ts";
import { drift } from "./commands/drift.ts";
import { keys } from "./commands/keys.ts";
import { logs } from "./commands/logs.ts";
import { profile } from "./commands/profile.ts";
import { publish } from "./commands/publish.ts";
import { promote, rollback, rollout } from "./commands/rollout.ts";
import { segments } from "./commands/segments.ts";
import { signing } from "./commands/signing.ts";
import { slo } from "./commands/slo.ts";
import { status } from "./commands/status.ts";

const COMMANDS: Command[] = [profile, publish, signing, rollout, promote, rollback, status, drift, slo, alerts, segments, logs, keys];

const HELP = `driftline — publish models to browsers and watch them drift

usage: driftline <command> [options]     (driftline <command> --help for details)

${COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`).join("\n")}

The collector and key come from --url/--key or DRIFTLINE_URL and DRIFTLINE_ADMIN_KEY
(default URL http://127.0.0.1:8787, the one npm start runs). Model names are per app: with
the bootstrap admin key, --app APP or DRIFTLINE_APP says which app's model a command means.`;

/**
 * One line for a failed file operation (`cannot open out/p.json: no such file or directory`),
 * or undefined when `err` is no such failure.
 *
 * @param err - anything a command threw
 */
function fileProblem(err: unknown): string | undefined {
  const e = err as NodeJS.ErrnoException;
  const why = fileReason(err);
  return why && e.path ? `cannot ${e.syscall ?? "use"} ${e.path}: ${why}` : undefined;
}

/**
 * Runs the CLI; resolves to the process exit code (0 ok, 1 failure, 2 usage). Every failure is
 * one line on stderr.
 *
 * @param argv - arguments after `driftline`
 */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name) {
    console.error(HELP);
    return 2;
  }
  if (name === "--help" || name === "-h" || name === "help") {
    console.log(HELP);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    console.error(`driftline: unknown command "${name}"\n\n${HELP}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(command.usage);
    return 0;
  }
  try {
    await command.run(rest);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`driftline ${name}: ${err.message}\n(driftline ${name} --help shows its usage)`);
      return 2;
    }
    if (err instanceof CliError || err instanceof DriftlineError) {
      console.error(`driftline ${name}: ${err.message}`);
      return 1;
    }
    const file = fileProblem(err);
    if (file) {
      console.error(`driftline ${name}: ${file}`);
      return 1;
    }
    console.error(`driftline ${name}: unexpected failure: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return 1;
  }
}
