import { readFileSync } from "node:fs";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { parseNameList } from "../protocol/name-list.ts";
import { nonUtf8Line, notUtf8 } from "./utf8.ts";

/** A mistake in how the command was called: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** A failure to report as one line, exit code 1. */
export class CliError extends Error {
  override readonly name = "CliError";
}

/**
 * What a thrown value says, on one line (its lines trimmed and joined with "; "), for a CliError.
 *
 * @param err - anything thrown
 * @example oneLine(new Error("bad input\n  index: 2")) // "bad input; index: 2"
 */
export function oneLine(err: unknown): string {
  return String(err instanceof Error ? err.message : err)
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .join("; ");
}

/** What the file system said, for people: a file that could not be read or written. */
const FILE_ERRORS: Record<string, string> = {
  ENOENT: "no such file or directory",
  EISDIR: "is a directory",
  ENOTDIR: "a part of the path is not a directory",
  EACCES: "permission denied",
  EPERM: "permission denied",
  EROFS: "read-only file system",
  ENOSPC: "no space left on the device",
  EEXIST: "already exists",
};

/**
 * Why a file operation failed, in words ("no such file or directory"), or undefined when `err`
 * is no such failure.
 *
 * @param err - anything thrown
 */
export function fileReason(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === "string" ? FILE_ERRORS[code] : undefined;
}

/**
 * A file's text, or a CliError saying why it cannot be read (`cannot read the profile p.json: is
 * a directory`) or naming the line where it is not UTF-8.
 *
 * @param path - the file
 * @param what - what it is, for the error: "the profile", "the texts"
 */
export function readTextFile(path: string, what: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new CliError(`cannot read ${what} ${path}: ${fileReason(err) ?? oneLine(err)}`);
  }
  const bad = nonUtf8Line(bytes);
  if (bad !== undefined) throw new CliError(notUtf8(path, bad));
  return bytes.toString("utf8");
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** Flags every command that talks to the collector takes (`--app`: see cli/api.ts `connection`). */
export const CONNECTION_OPTIONS = {
  url: { type: "string" },
  key: { type: "string" },
  app: { type: "string" },
} as const satisfies Options;

/**
 * Parses `argv` with node's parseArgs; unknown flags and missing values become UsageErrors.
 *
 * @param argv - the command's arguments (after the command name)
 * @param options - parseArgs option declarations
 * @example parse(["churn", "--percent", "10"], { percent: { type: "string" } })
 */
export function parse<O extends Options>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: "boolean", short: "h" } }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

/**
 * The action a command with several (`keys create | list | revoke`) was called with: its first
 * argument, which must be one of `actions`.
 *
 * @param argv - the command's arguments (after the command name)
 * @param actions - the actions it has
 * @returns the action and the arguments after it
 * @example const [action, rest] = takeAction(argv, ["list", "reset"]);
 */
export function takeAction<A extends string>(argv: string[], actions: readonly A[]): [A, string[]] {
  const [action, ...rest] = argv;
  const known = actions.join(", ");
  if (!action || action.startsWith("-")) throw new UsageError(`missing the action: ${known}`);
  if (!actions.includes(action as A)) throw new UsageError(`unknown action "${action}": ${known}`);
  return [action as A, rest];
}

/**
 * The one positional argument a command needs.
 *
 * @param positionals - parsed positionals
 * @param what - its name, for the error
 */
export function onePositional(positionals: string[], what: string): string {
  if (positionals.length === 0) throw new UsageError(`missing ${what}`);
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
  return positionals[0]!;
}

/**
 * A flag value that must be a whole number in [min, max].
 *
 * @param value - the flag's text
 * @param flag - its name, for the error
 */
export function intFlag(value: string, flag: string, min: number, max: number): number {
  // digits only: Number() also reads "0x10" as 16 and "1e3" as 1000, which no one means by a version
  const n = /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${flag} must be a whole number from ${min} to ${max}, got "${value}"`);
  return n;
}

/**
 * A flag value that must be a number in [min, max].
 *
 * @param value - the flag's text
 * @param flag - its name, for the error
 */
export function numberFlag(value: string, flag: string, min: number, max: number): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < min || n > max) throw new UsageError(`--${flag} must be a number from ${min} to ${max}, got "${value}"`);
  return n;
}

/**
 * A flag value that must be one of `choices`.
 *
 * @param value - the flag's text
 * @param flag - its name, for the error
 * @param choices - the values allowed
 */
export function choiceFlag<C extends string>(value: string, flag: string, choices: readonly C[]): C {
  if (!choices.includes(value as C)) throw new UsageError(`--${flag} must be ${choices.join(" or ")}, got "${value}"`);
  return value as C;
}

/**
 * Splits a comma-separated list flag, dropping empty items; a name holding a comma is quoted as
 * in CSV (protocol/name-list.ts).
 *
 * @param value - e.g. `a,b,"c, d"`
 * @param flag - the flag's name without dashes, for the error
 * @throws UsageError naming the flag when a quoted name is not closed or text follows it
 */
export function listFlag(value: string | undefined, flag: string): string[] {
  try {
    return parseNameList(value ?? "");
  } catch (err) {
    throw new UsageError(`--${flag}: ${(err as Error).message}`);
  }
}
