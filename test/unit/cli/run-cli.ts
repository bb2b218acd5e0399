import { vi } from "vitest";
import { main } from "../../../cli/main.ts";

/**
 * Runs the CLI in-process with its output captured (progress bars silenced).
 *
 * @param argv - the arguments after `driftline`
 */
export async function runCli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const out = vi.spyOn(console, "log").mockImplementation((...a) => void (stdout += `${a.join(" ")}\n`));
  const err = vi.spyOn(console, "error").mockImplementation((...a) => void (stderr += `${a.join(" ")}\n`));
  const write = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  try {
    return { code: await main(argv), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
    write.mockRestore();
  }
}
