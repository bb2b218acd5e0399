// runtime/session-queue.ts on its own, with stand-in sessions (the real sessions' turns are
// covered by the browser tests: 200 concurrent predict() calls with a shadow, WASM and WebGPU).
import { describe, expect, it, vi } from "vitest";
import type { InferenceSession } from "onnxruntime-web";
import { runInTurn } from "../../../runtime/session-queue.ts";
import type { Ort } from "../../../runtime/ort-loader.ts";

/** A session whose runs end when the test says, logging when each starts and ends. */
function heldSession(log: string[]) {
  const ends: Array<(v?: unknown) => void> = [];
  const fails: Array<(e: Error) => void> = [];
  let k = 0;
  const session = {
    run: () => {
      const i = k++;
      log.push(`start ${i}`);
      return new Promise((resolve, reject) => {
        ends[i] = (v) => (log.push(`end ${i}`), resolve(v ?? { i }));
        fails[i] = (e) => (log.push(`fail ${i}`), reject(e));
      });
    },
  } as unknown as InferenceSession;
  return { session, ends, fails };
}

const turn = () => new Promise((r) => setTimeout(r, 0));
const feeds = {};

describe("runInTurn", () => {
  it("starts a run at once when none is queued, else after every run queued before it has settled, failed ones included", async () => {
    const ort = {} as Ort;
    const log: string[] = [];
    const { session, ends, fails } = heldSession(log);
    const runs = [0, 1, 2].map(() =>
      runInTurn(ort, session, feeds).then(
        ({ out }) => out,
        (e: Error) => e.message,
      ),
    );
    expect(log).toEqual(["start 0"]);
    fails[0]!(new Error("boom"));
    await turn();
    expect(log).toEqual(["start 0", "fail 0", "start 1"]);
    ends[1]!();
    await turn();
    ends[2]!();
    expect(await Promise.all(runs)).toEqual(["boom", { i: 1 }, { i: 2 }]);
    expect(log).toEqual(["start 0", "fail 0", "start 1", "end 1", "start 2", "end 2"]);
  });

  it("gives up the turn of a session that throws rather than rejects: the next run starts at once", async () => {
    const ort = {} as Ort;
    const throwing = {
      run: () => {
        throw new Error("sync");
      },
    } as unknown as InferenceSession;
    await expect(runInTurn(ort, throwing, feeds)).rejects.toThrow("sync");
    const log: string[] = [];
    const { session, ends } = heldSession(log);
    const run = runInTurn(ort, session, feeds);
    expect(log).toEqual(["start 0"]);
    ends[0]!();
    await run;
  });

  it("keeps one queue per onnxruntime-web instance", () => {
    const log: string[] = [];
    const { session } = heldSession(log);
    void runInTurn({} as Ort, session, feeds);
    void runInTurn({} as Ort, session, feeds);
    expect(log).toEqual(["start 0", "start 1"]);
  });

  it("times the run itself, not its wait in the queue", async () => {
    const ort = {} as Ort;
    const log: string[] = [];
    const { session, ends } = heldSession(log);
    let now = 0;
    const clock = vi.spyOn(performance, "now").mockImplementation(() => now);
    try {
      const first = runInTurn(ort, session, feeds);
      const second = runInTurn(ort, session, feeds);
      now = 100;
      ends[0]!();
      await first;
      await turn();
      now = 105;
      ends[1]!();
      expect((await second).ms).toBe(5);
    } finally {
      clock.mockRestore();
    }
  });
});
