// Calibrated drift verdicts on real data: the FAA wildlife-strike reports of vega-datasets,
// 1990-1993 as the reference. Reference years must not be flagged; the columns that really shift
// later (airport, aircraft, operator) must be, far above their thresholds; phase of flight and time
// of day, which move only a little, at most at the margin.
// JS values are checked against numpy/scipy (test/fixtures/birdstrikes/make-expected.py).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import Papa from "papaparse";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProfileFile } from "../../../cli/profiler.ts";
import { type DriftResult, computeDrift, decodeReference } from "../../../collector/drift/index.ts";
import { blurValue } from "../../../protocol/blur.ts";
import { CategoricalSketch, type FeatureSketch, NumericSketch } from "../../../protocol/sketch/index.ts";
import { runCli } from "./run-cli.ts";

const CATEGORICAL = ["Airport Name", "Aircraft Make Model", "Aircraft Airline Operator", "Origin State", "Phase of flight", "Wildlife Size", "Wildlife Species", "Time of day"];
const _NUMERIC = ["Speed IAS in knots", "Cost Total $"];
const REFERENCE_YEARS = ["1990", "1991", "1992", "1993"];
const LATER_YEARS = ["1998", "1999", "2000", "2001", "2002"];

// the package's exports map names only its JS entry (build/index.js): its data sit beside build/
const csvPath = join(dirname(createRequire(import.meta.url).resolve("vega-datasets")), "..", "data", "birdstrikes.csv");
const expected = JSON.parse(readFileSync(new URL("../../fixtures/birdstrikes/expected.json", import.meta.url), "utf8")) as { js: Record<string, Record<string, number>> };
const all = Papa.parse<Record<string, string>>(readFileSync(csvPath, "utf8"), { header: true, skipEmptyLines: true }).data;
const yearOf = (row: Record<string, string>) => row["Flight Date"]!.slice(0, 4);
const years = [...new Set(all.map(yearOf))].sort();

const dir = mkdtempSync(join(tmpdir(), "driftline-birdstrikes-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A year's rows sketched as the runtime sketches them, against the profile's schema. */
function windowOf(file: ProfileFile, year: string): { features: Map<string, FeatureSketch> } {
  const rows = all.filter((r) => yearOf(r) === year);
  const features = new Map<string, FeatureSketch>();
  for (const f of file.features) {
    if (f.kind === "categorical") {
      const s = new CategoricalSketch(f.categories!);
      for (const r of rows) s.update(r[f.name] === "" ? null : r[f.name]);
      features.set(f.name, s);
    } else {
      const s = new NumericSketch();
      for (const r of rows) {
        const v = r[f.name] === "" ? null : Number(r[f.name]);
        s.update(v, v === null ? v : blurValue(v));
      }
      features.set(f.name, s);
    }
  }
  return { features };
}

const flagged = (result: DriftResult) =>
  Object.entries(result.features)
    .filter(([, f]) => f.drifted)
    .map(([name]) => name)
    .sort();

describe("calibrated verdicts on the birdstrikes data", () => {
  let file: ProfileFile;
  const calibrated: Record<string, DriftResult> = {};
  const evidently: Record<string, DriftResult> = {};

  beforeAll(async () => {
    const referencePath = join(dir, "reference.csv");
    writeFileSync(referencePath, Papa.unparse(all.filter((r) => REFERENCE_YEARS.includes(yearOf(r)))));
    const out = join(dir, "profile.json");
    const exclude = ["Effect Amount of damage", "Cost Other", "Cost Repair"].join(",");
    const result = await runCli("profile", referencePath, "--categorical", CATEGORICAL.join(","), "--exclude", exclude, "--chunk-by", "Flight Date", "--chunk-period", "year", "-o", out);
    expect(result.stderr).toBe("");
    expect(result.stdout).toContain("calibrated on 40 random and 4 ordered chunks");
    file = JSON.parse(readFileSync(out, "utf8")) as ProfileFile;
    const reference = decodeReference(file.profile);
    for (const year of years) {
      calibrated[year] = computeDrift(reference, windowOf(file, year), { verdicts: "calibrated" });
      evidently[year] = computeDrift(reference, windowOf(file, year));
    }
  });

  it("computes the same Jensen–Shannon distances as scipy on the raw rows", () => {
    for (const column of CATEGORICAL) {
      for (const year of years) expect(evidently[year]!.features[column]!.metrics.js!, `${column} ${year}`).toBeCloseTo(expected.js[column]![year]!, 6);
    }
  });

  it("flags no feature in the reference years, where fixed thresholds flag the high-cardinality ones", () => {
    for (const year of REFERENCE_YEARS) expect(flagged(calibrated[year]!), year).toEqual([]);
    expect(REFERENCE_YEARS.flatMap((y) => flagged(evidently[y]!))).toContain("Aircraft Make Model");
  });

  it("flags airport, aircraft and operator in every later year by far; phase of flight and time of day only at the margin", () => {
    const margin = (year: string, column: string) => calibrated[year]!.features[column]!.value! / calibrated[year]!.features[column]!.threshold;
    for (const year of LATER_YEARS) {
      for (const column of ["Airport Name", "Aircraft Make Model", "Aircraft Airline Operator"]) expect(margin(year, column), `${column} ${year}`).toBeGreaterThan(1.5);
    }
    // small real shifts (JS 0.05-0.08 against 0.02-0.04 in the reference years): flagged in at most
    // 3 of the 9 later years (phase of flight 1995 and 1999; time of day 1994, 2001 and 2002), never
    // by more than a third over the threshold
    const after = years.filter((y) => y > "1993");
    for (const column of ["Phase of flight", "Time of day"]) {
      expect(after.filter((y) => calibrated[y]!.features[column]!.drifted).length, column).toBeLessThanOrEqual(3);
      for (const year of after) expect(margin(year, column), `${column} ${year}`).toBeLessThan(1.35);
    }
  });

  it("gives each verdict the threshold it was judged by, larger for smaller windows", () => {
    const aircraft = (y: string) => calibrated[y]!.features["Aircraft Make Model"]!;
    expect(aircraft("1990").test).toBe("js");
    // 1990 has 463 rows, 2001 has 1,095: the smaller window tolerates more sampling noise
    expect(aircraft("1990").threshold).toBeGreaterThan(aircraft("2001").threshold);
  });
});
