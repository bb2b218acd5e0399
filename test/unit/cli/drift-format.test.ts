import { describe, expect, it } from "vitest";
import { describeDrift } from "../../../cli/commands/drift.ts";
import type { DriftAnswer, FeatureDrift } from "../../../protocol/api.ts";

const metrics = { ks: 0.4, ks_pvalue: 1e-20, psi: 0.9, js: 0.3, wasserstein_normed: 0.2 };
const feature = (over: Partial<FeatureDrift>): FeatureDrift => ({
  kind: "numeric",
  count: 100,
  test: "ks",
  threshold: 0.05,
  drifted: false,
  value: 0.2,
  sender_share: 0.1,
  p_value: 0.2,
  p_adjusted: 0.2,
  metrics,
  ...over,
});

const answer = (features: Record<string, FeatureDrift>, over: Partial<DriftAnswer> = {}): DriftAnswer => ({
  model: "pets",
  version: 1,
  from: "2026-12-04T12:00:00.000Z",
  to: "2026-12-04T13:00:00.000Z",
  count: 100,
  features,
  prediction: null,
  entropy: null,
  dataset: { drifted_share: 0, drifted: false },
  embedding: null,
  skipped: 0,
  ...over,
});

/** The table row of one feature, its cells split on runs of spaces. */
const row = (text: string, name: string) =>
  text
    .split("\n")
    .find((l) => l.startsWith(name))!
    .split(/ {2,}/);

describe("driftline drift: the table", () => {
  it("says, for a range without traffic, when reports become visible", () => {
    expect(describeDrift(answer({}, { count: 0 })).split("\n")[1]).toBe(
      "no traffic in that range (predictions arrive with the runtime's next report, every 30 s by default, and show in queries about 10 s later)",
    );
  });

  it("says, for a segment without traffic, where the reported segments are listed", () => {
    // a mistyped key or value (region:x) answers as no traffic: waiting for the next report would not help
    expect(describeDrift(answer({}, { count: 0 }), "region:x").split("\n")[1]).toBe(
      "no traffic in segment region:x in that range (driftline segments list pets shows the keys and values clients reported)",
    );
  });

  it("shows the value the verdict was taken on and its threshold, not the untrimmed metric", () => {
    const text = describeDrift(answer({ brightness: feature({ value: 0.002, drifted: true }) }));
    expect(row(text, "brightness")).toEqual(["brightness", "numeric", "100", "ks", "0.002", "1.0e-20", "0.050", "0.900", "0.300", "DRIFT"]);
  });

  it("shows beside the verdict's value the test's value on all the values, which scipy gives on the raw rows", () => {
    // a units bug from 10 client networks: normed Wasserstein 0.747 on all the values (numpy: 0.740), 0.250 with a tenth
    // trimmed off; the table showed 0.250, PSI and JS, and no figure a user could check against their own computation
    const metrics = { ks: 0.21, ks_pvalue: 0, psi: 0.351, js: 0.206, wasserstein_normed: 0.747 };
    const text = describeDrift(answer({ distance: feature({ test: "wasserstein", value: 0.25, threshold: 0.062, drifted: true, metrics }) }));
    expect(row(text, "distance")).toEqual(["distance", "numeric", "100", "wasserstein", "0.250", "0.747", "0.062", "0.351", "0.206", "DRIFT"]);
    expect(text).toMatch(/^value: the test's value with the heaviest sender's share of the values \(up to 10%\) left out, as the verdict took it; untrimmed: on all the values$/m);
  });

  it("names the categorical features whose values the profile does not have, with their share", () => {
    // origin sent lower-cased ("sfo"): JS 0.809, and no word that every value was a category the profile does not list
    const categorical = (unseen: number) => feature({ kind: "categorical", test: "js", metrics: { ks: null, ks_pvalue: null, psi: 14, js: 0.809, wasserstein_normed: null, unseen_share: unseen } });
    const text = describeDrift(answer({ origin: categorical(1), weekday: categorical(0), carrier: categorical(0.004), dest: categorical(0.0002) }));
    expect(text).toMatch(/^unseen categories \(values the profile does not list, compared as "other"\): origin 100\.0%, carrier 0\.4%, dest <0\.1%$/m);
    expect(describeDrift(answer({ weekday: categorical(0) }))).not.toMatch(/unseen/);
  });

  it("lists the drifted features first and counts them", () => {
    // a wide model's few drifted features were scattered through hundreds of rows in the profile's order
    const names = Array.from({ length: 300 }, (_, i) => `f${i}`);
    const features = Object.fromEntries(
      names.map((name, i) => [name, feature(i % 100 === 7 ? { value: 0.001, drifted: true } : i === 299 ? { count: 0, value: null } : i === 298 ? { sender_share: 1, value: null } : {})]),
    );
    const text = describeDrift(answer(features, { dataset: { drifted_share: 3 / 298, drifted: false } }));
    const rows = text
      .split("\n")
      .slice(2, 302)
      .map((line) => line.split(" ")[0]);
    expect(rows.slice(0, 4)).toEqual(["f7", "f107", "f207", "f0"]);
    expect(text).toContain("\ndataset: 3 of 298 features judged drifted (1%)");
  });

  it("says when there is no verdict, and why, instead of ok", () => {
    const text = describeDrift(
      answer({
        brightness: feature({ value: null, sender_share: 1 }),
        words: feature({ value: null, sender_share: 0.2, metrics: { ks: null, ks_pvalue: null, psi: null, js: null, wasserstein_normed: null } }),
        width: feature({ count: 0, value: null, sender_share: 0 }),
      }),
    );
    expect(row(text, "brightness").at(-1)).toBe("one sender");
    expect(row(text, "brightness")[4]).toBe("-");
    expect(row(text, "words").at(-1)).toBe("no reference");
    expect(row(text, "width").at(-1)).toBe("no data");
    expect(text).toMatch(/^one sender: a single client network sent every value/m);
    // a user's own runtimes against npm start's collector all send from 127.0.0.1: the line says how the demo's fleet does not
    expect(text).toMatch(/against a local collector every runtime sends from 127\.0\.0\.1 unless its transport sets CF-Connecting-IP, as demo\/simulator\.ts does/);
  });

  it("says why a feature with values in the window has no verdict: no reference values, or one and the same value on both sides", () => {
    const none = { ks: null, ks_pvalue: null, psi: null, js: null, wasserstein_normed: null, chi2_pvalue: null };
    const text = describeDrift(
      answer({
        "input_ids.unknownTokens": feature({ value: null, p_value: null, metrics: none }),
        "image.width": feature({ test: "chi2", value: null, p_value: null, metrics: { ...none, psi: 0, js: 0 } }),
      }),
    );
    expect([row(text, "input_ids.unknownTokens").at(-1), row(text, "image.width").at(-1)]).toEqual(["no reference", "one value"]);
    expect(text).toMatch(/^no reference: the profile has no values of the feature to compare with \(a text profile made without --encoder has none of unknownTokens: docs\/models\.md\)$/m);
    expect(text).toMatch(/^one value: the reference and the window hold one and the same value \(an image's width from one camera\), which chi-squared cannot test: nothing moved$/m);
  });

  it("prints the embedding's verdict", () => {
    const embedding = {
      count: 300,
      components: { drifted: 5, of: 16, share: 0.31, verdict: true },
      distance: { value: 1.63, threshold: 0.2, verdict: true },
      mmd: { value: 0.62, threshold: 0.0013, verdict: true },
      sender_share: 0.1,
      drifted: true,
    };
    const text = describeDrift(answer({}, { embedding }));
    expect(text).toContain("embedding: 300 embeddings; 5 of 16 components moved; distance 1.630 (threshold 0.200); MMD² 0.620 (threshold 0.001): DRIFT");
    expect(describeDrift(answer({}, { embedding: { ...embedding, sender_share: 0.9, drifted: false } }))).toMatch(/: no verdict \(one sender gave most of them\)$/m);
  });
});
