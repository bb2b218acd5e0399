import { execFile, spawn } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";

const root = new URL("../..", import.meta.url).pathname;
const run = promisify(execFile);

/**
 * Runs the real `driftline` CLI (cli/bin.js) in its own process from the repository root;
 * resolves to its exit code and output, never rejects.
 *
 * @param args - the arguments after `driftline`
 * @param env - variables added to this process's environment (DRIFTLINE_URL, DRIFTLINE_ADMIN_KEY…)
 */
export async function runCliProcess(args: readonly string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(root, "cli/bin.js"), ...args], { cwd: root, env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/**
 * Runs the real CLI with its output's reader gone before it writes (`driftline … | head -0`):
 * resolves to its exit code and what it wrote to stderr.
 *
 * @param args - the arguments after `driftline`
 * @param env - variables added to this process's environment
 */
export async function runCliOutputClosed(args: readonly string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [join(root, "cli/bin.js"), ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.destroy();
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  return { code, stderr };
}
