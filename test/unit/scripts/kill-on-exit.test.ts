// A script of npm start's that dies of an uncaught error leaves none of its children running
// (a crashed `npm start` left a `wrangler d1 migrations apply` at 95 % CPU, growing past 4 GB).
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const library = new URL("../../../scripts/lib/collector-process.mjs", import.meta.url).href;

/** Whether a process of that id still runs: it exists and is no zombie (killed, not yet reaped: a container's init may never reap it). */
function running(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return false;
  }
}

describe("killOnExit", () => {
  it("kills a child when its parent dies of an uncaught error, and leaves alone one that has exited", async () => {
    const script = `
      import { spawn } from "node:child_process";
      import { killOnExit } from ${JSON.stringify(library)};
      const done = spawn("true");
      killOnExit(done, () => { throw new Error("killed a child that had exited"); });
      await new Promise((resolve) => done.once("exit", resolve));
      const sleeper = spawn("sleep", ["60"], { stdio: "ignore" });
      killOnExit(sleeper, () => sleeper.kill("SIGKILL"));
      console.log(sleeper.pid);
      setTimeout(() => { throw new Error("crash"); }, 50);
    `;
    const { stdout, stderr, code } = await new Promise<{ stdout: string; stderr: string; code: number | null }>((resolve) => {
      const child = execFile(process.execPath, ["--input-type=module", "-e", script], (err, stdout, stderr) => resolve({ stdout, stderr, code: err ? (child.exitCode ?? 1) : 0 }));
    });
    expect(code).toBe(1);
    expect(stderr).toMatch(/Error: crash/);
    expect(stderr).not.toMatch(/killed a child that had exited/);
    const pid = Number(stdout.trim());
    expect(pid).toBeGreaterThan(0);
    // the kill is sent as the parent exits
    for (let i = 0; i < 50 && running(pid); i++) await new Promise((r) => setTimeout(r, 20));
    expect(running(pid)).toBe(false);
  });
});
