// Builds the demo's models and profiles from vega-datasets (nothing downloaded) into demo/models/:
// for each model version, its training rows as CSV (a scratch folder), the feature schema from
// `driftline profile`, a logistic regression trained by demo/train.py (Debian's python3 with
// python3-sklearn and python3-onnx), the ONNX graph checked against scikit-learn's probabilities
// with onnxruntime-web, and the final calibrated profile with the model's predictions and its
// baseline accuracy. The outputs are committed; a rerun gives the same files but for the
// profiles' createdAt.
//
// Run from the project root: node scripts/run-ts.mjs demo/make-models.ts
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Papa from "papaparse";
import { DEMO, demoFiles } from "../scripts/lib/demo.mjs";
import { largestProbabilityGap } from "./check-model.ts";
import { type Event, FLIGHT_FEATURES, STRIKE_FEATURES, readBirdstrikes, readFlights } from "./data.ts";

const PYTHON = "/usr/bin/python3";
/** The ONNX graph computes in float32, scikit-learn in float64. */
const TOLERANCE = 1e-5;

interface Version {
  version: "v1" | "v2";
  /** Which events the version is trained (and profiled) on. */
  from: string;
  to: string;
}

interface Spec {
  name: string;
  features: readonly string[];
  categorical: string[];
  nullable: string[];
  period: "year" | "week";
  versions: Version[];
  events: (from: number, to: number) => Promise<Event[]>;
}

const strikes = readBirdstrikes();
const SPECS: Spec[] = [
  {
    name: "birdstrike-damage",
    features: STRIKE_FEATURES,
    categorical: STRIKE_FEATURES.filter((f) => f !== "Speed IAS in knots"),
    nullable: ["Speed IAS in knots"],
    period: "year",
    versions: [
      { version: "v1", from: "1990-01-01", to: "1994-01-01" },
      { version: "v2", from: "1994-01-01", to: "1998-01-01" },
    ],
    events: async (from, to) => strikes.filter((e) => e.at >= from && e.at < to),
  },
  {
    name: "flight-delay",
    features: FLIGHT_FEATURES,
    categorical: ["origin", "destination"],
    nullable: [],
    // January's weeks: the month has no other chunks by time
    period: "week",
    versions: [
      { version: "v1", from: "2001-01-01", to: "2001-02-01" },
      { version: "v2", from: "2001-02-01", to: "2001-03-01" },
    ],
    events: (from, to) => readFlights((_, at) => at >= from && at < to),
  },
];

function cli(args: string[]): string {
  return execFileSync(process.execPath, ["cli/bin.js", ...args], { encoding: "utf8" }).trim();
}

const scratch = mkdtempSync(join(tmpdir(), "driftline-demo-models-"));
mkdirSync("demo/models", { recursive: true });
try {
  for (const spec of SPECS) {
    const labels = DEMO.models.find((m) => m.name === spec.name)!.labels;
    for (const { version, from, to } of spec.versions) {
      const events = await spec.events(Date.parse(`${from}T00:00:00Z`), Date.parse(`${to}T00:00:00Z`));
      const csv = join(scratch, `${spec.name}-${version}.csv`);
      writeFileSync(
        csv,
        Papa.unparse(
          events.map((e) => ({ ...e.row, date: new Date(e.at).toISOString(), label: e.label })),
          { columns: [...spec.features, "date", "label"] },
        ),
      );
      const common = ["--categorical", spec.categorical.join(","), "--encoding", "onehot", "--unknown", "ignore", ...(spec.nullable.length ? ["--nullable", spec.nullable.join(",")] : [])];
      const schema = join(scratch, `${spec.name}-${version}.schema.json`);
      cli(["profile", csv, "-o", schema, "--exclude", "date,label", ...common]);
      const files = demoFiles(spec.name, version);
      console.log(execFileSync(PYTHON, ["demo/train.py", csv, schema, files.onnx, files.expected, labels.join(",")], { encoding: "utf8" }).trim());
      console.log(cli(["profile", csv, "-o", files.profile, ...common, "--chunk-by", "date", "--chunk-period", spec.period, "--model", files.onnx, "--labels", labels.join(","), "--target", "label"]));
      const gap = await largestProbabilityGap(files.onnx, files.profile, files.expected);
      if (!(gap < TOLERANCE)) throw new Error(`${files.onnx}: probabilities differ from scikit-learn's by ${gap}`);
      console.log(`${files.onnx}: onnxruntime-web's probabilities within ${gap.toExponential(1)} of scikit-learn's`);
    }
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
