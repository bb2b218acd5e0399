// A regression's labels (issue 13 item 1): a one-row report's residual, with its prediction beside
// it, must fit two or more labels the targets can take — also at the ends of their range, where a
// cell shared only with an impossible value (a count of −1, a rating of 6) gives the label back.
// Each candidate label is put through the report builder itself, and what it would send compared.
import { describe, expect, it } from "vitest";
import { toWire } from "../../../runtime/draft.ts";
import { Accumulator } from "../../../runtime/report-builder.ts";
import type { Manifest } from "../../../protocol/schema/manifest.ts";
import { decodeNumeric, fromBase64 } from "../../../protocol/sketch/index.ts";
import { churnModel } from "../../fixtures/runtime-models.ts";

const head = { id: "r1", model: "m", version: 1, role: "live" as const, client: "c", segment: { backend: "wasm" }, sampleRate: 1 };
const { manifest } = churnModel("labels");

/** The residual a one-row report sends for `label` predicted as `predicted`, as the collector decodes it. */
function sentResidual(outputs: Manifest["outputs"], label: number, predicted: number): number {
  const acc = new Accumulator({ ...manifest, outputs }, 1000);
  acc.label(label, predicted);
  return decodeNumeric(fromBase64(toWire(acc.cut(head, 2000)!).residual!)).quantiles.min;
}

describe("a one-row report's residual, with its prediction known, fits two labels the targets can take", () => {
  for (const [what, targets] of [
    ["counts 0–99", { min: 0, max: 99 }],
    ["ratings 1–5", { min: 1, max: 5 }],
  ] as const) {
    it(`${what}, the ends of the range included`, () => {
      const outputs: Manifest["outputs"] = [{ name: "probabilities", kind: "regression", step: 1, targets }];
      const domain = Array.from({ length: targets.max - targets.min + 1 }, (_, i) => targets.min + i);
      for (const predicted of [0.1, 0.5, 0.9, 1.3, 2.6, 4.4, 98.7].map(Math.fround)) {
        const sent = domain.map((label) => sentResidual(outputs, label, predicted));
        domain.forEach((label, i) => {
          expect(sent[i], `label ${label} predicted ${predicted}`).not.toBe(Math.fround(label - predicted));
          const fits = domain.filter((_, j) => sent[j] === sent[i]);
          expect(fits.length, `label ${label} predicted ${predicted}: ${fits}`).toBeGreaterThanOrEqual(2);
        });
      }
    });
  }
});

describe("a one-row report's residual beyond a range of one or two values, or without a range, fits two labels too", () => {
  const predictions = [0.1, 0.5, 2.6, 4.4, 17.3].map(Math.fround);
  /** Each label of `domain`: the labels of `domain` whose one-row reports send the same residual. */
  const fitsOf = (outputs: Manifest["outputs"], domain: number[]) =>
    predictions.flatMap((predicted) => {
      const sent = domain.map((label) => sentResidual(outputs, label, predicted));
      return domain.map((label, i) => [`label ${label} predicted ${predicted}`, domain.filter((_, j) => sent[j] === sent[i])] as const);
    });

  // a count's reference targets all 0 or 1, or all 3: a live label beyond them is no class
  for (const targets of [
    { min: 0, max: 1 },
    { min: 3, max: 3 },
  ]) {
    it(`targets ${targets.min}–${targets.max}: a label beyond them pairs beyond them, one of them is kept (a class)`, () => {
      const outputs: Manifest["outputs"] = [{ name: "probabilities", kind: "regression", step: 1, targets }];
      // ten whole numbers below the range and ten above it
      const beyond = Array.from({ length: 20 + targets.max - targets.min + 1 }, (_, i) => targets.min - 10 + i).filter((label) => label < targets.min || label > targets.max);
      for (const [where, fits] of fitsOf(outputs, beyond)) expect(fits.length, `${where}: ${fits}`).toBeGreaterThanOrEqual(2);
      for (let label = targets.min; label <= targets.max; label++) expect(sentResidual(outputs, label, 0.5)).toBe(sentResidual([{ name: "probabilities", kind: "regression" }], label, 0.5));
    });
  }

  // a share or a mean where the reference happened to hold only 0 and 1, or only 3: no class value
  for (const [targets, between] of [
    [{ min: 0, max: 1 }, [0.1, 0.25, 0.37, 0.5, 0.75, 0.9]],
    [{ min: 3, max: 3 }, [2.6, 2.9, 3.1, 3.4]],
  ] as const) {
    it(`targets ${targets.min}–${targets.max}: a label off them is not kept as it is`, () => {
      const outputs: Manifest["outputs"] = [{ name: "probabilities", kind: "regression", step: 1, targets }];
      for (const [where, fits] of fitsOf(outputs, [...between])) expect(fits.length, `${where}: ${fits}`).toBeGreaterThanOrEqual(2);
    });
  }

  it("an output with a step and no targets (a profile of 6f641b0, or written by hand): whole numbers pair from 0", () => {
    const outputs: Manifest["outputs"] = [{ name: "probabilities", kind: "regression", step: 1 }];
    const counts = Array.from({ length: 100 }, (_, i) => i);
    for (const [where, fits] of fitsOf(outputs, counts)) expect(fits.length, `${where}: ${fits}`).toBeGreaterThanOrEqual(2);
  });
});
