import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { liveModel, makeReport } from "./ingest-helpers.ts";
import { call } from "./registry-helpers.ts";

/** A valid report with one field replaced by anything (or removed). */
function mutated(valid: Record<string, unknown>) {
  return fc.tuple(fc.constantFrom(...Object.keys(valid), "features.tenure", "features.extra", "shadow"), fc.oneof(fc.anything(), fc.base64String(), fc.constant(undefined))).map(([key, value]) => {
    const copy: Record<string, unknown> = structuredClone(valid);
    if (key.startsWith("features.")) (copy.features as Record<string, unknown>)[key.slice(9)] = value;
    else copy[key] = value;
    return copy;
  });
}

describe("POST /v1/reports with hostile input", async () => {
  const { model, version, token } = await liveModel("fuzz");
  const valid = makeReport(model, version) as unknown as Record<string, unknown>;

  it("never answers 5xx and always uses the envelope or the batch answer", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(mutated(valid), fc.anything()), { minLength: 0, maxLength: 5 }), fc.boolean(), async (reports, wrap) => {
        const res = await call("POST", "/v1/reports", { token, json: wrap ? { reports } : reports });
        const body = (await res.json()) as Record<string, unknown>;
        if (res.status === 200) expect(Object.keys(body).sort()).toEqual(["accepted", "assignment", "duplicates", "rejected"]);
        else {
          expect(res.status).toBeGreaterThanOrEqual(400);
          expect(res.status).toBeLessThan(500);
          expect(Object.keys(body)).toEqual(["error"]);
        }
      }),
      { numRuns: 150, seed: 42 },
    );
  });
});
