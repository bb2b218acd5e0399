/** One `driftline` subcommand. */
export interface Command {
  name: string;
  /** One line for `driftline --help`. */
  summary: string;
  /** The full help text. */
  usage: string;
  /** Runs it with the arguments after the command name. */
  run(argv: string[]): Promise<void>;
}
