import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { LogRow } from "../../../../protocol/schema/prediction-log.ts";
import { checkAnswer, ingestKeys, send } from "../../fuzz-helpers.ts";
import { liveModel } from "../../ingest-helpers.ts";
import { exportLogs } from "../../log-helpers.ts";
import { createKey, rollout } from "../../registry-helpers.ts";
import { hostileValue, toJson } from "../../report-mutations.ts";

/**
 * Fuzzing `POST /v1/logs`, a route an ingest key reaches (as test/worker/collector/ingest/
 * ingest-fuzz.test.ts does the others): fast-check mutates valid batches (a field set to a
 * hostile value or removed) with a fixed seed. Every answer is below 500, a non-2xx one is the
 * error envelope, and the export holds exactly the rows of the batches answered 200.
 */

const SEED = 20_261_203;
const BATCHES = 400;

/** Where a mutation may land in a batch of two rows and one label. */
const PATHS: (string | number)[][] = [
  ["id"],
  ["model"],
  ["client"],
  ["rows"],
  ["labels"],
  ["dropped"],
  ...["id", "version", "t", "segment", "inputs", "label", "score", "actual"].map((k) => ["rows", 0, k]),
  ["rows", 1, "inputs", "tenure"],
  ["rows", 1, "inputs", "plan"],
  ["rows", 1, "segment", "app"],
  ["rows", 1, "inputs", "__proto__"],
  ...["id", "version", "t", "actual"].map((k) => ["labels", 0, k]),
];

const mutation = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant("set" as const), path: fc.constantFrom(...PATHS), value: hostileValue }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("remove" as const), path: fc.constantFrom(...PATHS) }) },
);
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function apply(batch: Record<string, unknown>, m: Mutation): void {
  let at = batch as Record<string | number, unknown>;
  for (const key of m.path.slice(0, -1)) {
    const next = at[key];
    if (typeof next !== "object" || next === null) return;
    at = next as Record<string | number, unknown>;
  }
  const last = m.path.at(-1)!;
  if (m.op === "remove") delete at[last];
  else Object.defineProperty(at, last, { value: m.value, enumerable: true, writable: true, configurable: true });
}

describe("POST /v1/logs fuzz", { timeout: 300_000 }, () => {
  it("answers every mutated batch below 500 with the envelope, and exports exactly the rows it took", async () => {
    const { model, version } = await liveModel("logs-fuzz");
    await rollout(model, { logRate: 1 });
    const read = (await createKey("default", "read")).token;
    const nextKey = ingestKeys();
    const accepted = new Map<string, unknown>();
    const cases = fc.sample(fc.array(mutation, { maxLength: 2 }), { numRuns: BATCHES, seed: SEED });
    let n = 0;
    for (const mutations of cases) {
      n++;
      const t = Date.now();
      const batch: Record<string, unknown> = {
        id: `fuzz-${n}`,
        model,
        client: `c${n % 7}`,
        rows: [0, 1].map((r) => ({ id: `f${n}.${r}`, version, t, segment: { app: "web" }, inputs: { tenure: n + r / 4, plan: "pro" }, label: "yes", score: 0.5 })),
        labels: [{ id: `f${n - 1}.0`, version, t, actual: "no" }],
      };
      for (const m of mutations) apply(batch, m);
      const body = toJson(batch);
      const res = await send(new Request("http://collector/v1/logs", { method: "POST", headers: { Authorization: `Bearer ${await nextKey()}`, "Content-Type": "application/json" }, body }));
      const what = `batch ${n}: ${JSON.stringify(mutations).slice(0, 300)}`;
      await checkAnswer(res, what);
      if (res.status === 200) for (const row of (JSON.parse(body) as { rows: LogRow[] }).rows) accepted.set(row.id, row);
    }
    // most batches carry one or two mutations; some are refused, some (a label, a score) pass
    expect(accepted.size).toBeGreaterThan(100);
    const { rows } = await exportLogs(read, `model=${model}&from=${Date.now() - 3_600_000}&to=${Date.now() + 60_000}`);
    expect(rows.length).toBe(accepted.size);
    for (const row of rows) expect({ ...row, actual: undefined }).toEqual({ ...(accepted.get(row.id) as object), actual: undefined });
  });
});
