import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProfileFile } from "../../../cli/profiler.ts";
import { fromBase64, decodeCategorical, decodeClassification, decodeEmbedding, decodeNumeric } from "../../../protocol/sketch/index.ts";
import { parseReferenceProfile } from "../../../protocol/schema/parse.ts";
import { blurValue, narrowestCell, pairedLabel } from "../../../protocol/blur.ts";
import { featureValue } from "../../../protocol/row-encoding.ts";
import { runCli } from "./run-cli.ts";
import { SMOKE_CLASSIFIER, buildDenseClassifier, denseClassifierReference } from "../../fixtures/onnx-models.ts";

const dir = mkdtempSync(join(tmpdir(), "driftline-profile-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PLANS = ["basic", "pro", "team"];
/** 500 deterministic rows: id, tenure, spend, visits, plan, churned (the target); a few missing. */
const rows = Array.from({ length: 500 }, (_, i) => ({
  id: `u${i}`,
  tenure: i % 97 === 0 ? "" : String((i * 7) % 60),
  spend: (((i * 13) % 200) + 0.5).toFixed(2),
  visits: String(i % 11),
  plan: PLANS[(i * 5) % 3]!,
  churned: String(i % 2),
}));
const header = Object.keys(rows[0]!);
const csvPath = join(dir, "train.csv");
writeFileSync(csvPath, `${[header.join(","), ...rows.map((r) => header.map((h) => r[h as keyof typeof r]).join(","))].join("\n")}\n`);

const run = runCli;

describe("driftline profile", () => {
  let file: ProfileFile;

  beforeAll(async () => {
    const result = await run("profile", csvPath, "--exclude", "id,churned", "-o", join(dir, "profile.json"));
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    file = JSON.parse(readFileSync(join(dir, "profile.json"), "utf8"));
  });

  it("writes a valid reference profile with the row count and one sketch per feature", () => {
    expect(parseReferenceProfile(file.profile).rows).toBe(500);
    expect(Object.keys(file.profile.features)).toEqual(["tenure", "spend", "visits", "plan"]);
  });

  it("infers kinds, tensor columns, ranges, categories and imputation", () => {
    expect(file.features.map((f) => [f.name, f.kind, f.index])).toEqual([
      ["tenure", "numeric", 0],
      ["spend", "numeric", 1],
      ["visits", "numeric", 2],
      ["plan", "categorical", 3],
    ]);
    expect(file.features[2]).toMatchObject({ range: { min: 0, max: 10 }, policy: "impute" });
    expect(file.features[3]).toMatchObject({ categories: PLANS, encoding: "index", policy: "impute" });
    // whole numbers and halves: the privacy grid's cells hold two of them or more (protocol/blur.ts)
    expect(file.features.map((f) => f.step)).toEqual([1, 0.1, 1, undefined]);
  });

  it("sketches what the rows hold, each value recorded as clients record it (blurred)", () => {
    const tenure = decodeNumeric(fromBase64(file.profile.features.tenure!.sketch));
    const missing = rows.filter((r) => r.tenure === "").length;
    expect(tenure.missing).toBe(missing);
    expect(tenure.count).toBe(500 - missing);
    const values = rows.filter((r) => r.tenure !== "").map((r) => Number(r.tenure));
    expect(tenure.mean).toBeCloseTo(values.map((v) => blurValue(v, narrowestCell(1))).reduce((a, b) => a + b, 0) / values.length, 9);
    // the impute value is the exact median of the raw values, as SimpleImputer takes it
    const sorted = values.sort((a, b) => a - b);
    expect(file.features[0]!.impute).toBe((sorted[(sorted.length >> 1) - 1]! + sorted[sorted.length >> 1]!) / 2);
    const plan = decodeCategorical(fromBase64(file.profile.features.plan!.sketch));
    expect(plan.counts).toEqual(PLANS.map((p) => rows.filter((r) => r.plan === p).length));
  });

  it("runs the model over every row and sketches its predictions as the runtime would feed them", async () => {
    const modelPath = join(dir, "model.onnx");
    writeFileSync(modelPath, buildDenseClassifier(SMOKE_CLASSIFIER));
    const out = join(dir, "with-model.json");
    const result = await run("profile", csvPath, "--exclude", "id,churned", "--model", modelPath, "--labels", "a,b,c", "-o", out);
    expect(result.code).toBe(0);
    const withModel: ProfileFile = JSON.parse(readFileSync(out, "utf8"));
    expect(withModel.outputs).toEqual([{ name: "probabilities", kind: "probabilities", labels: ["a", "b", "c"] }]);
    const predictions = decodeClassification(fromBase64(withModel.profile.prediction!.sketch));
    const impute = withModel.features[0]!.impute as number;
    const encoded = rows.map((r) => [r.tenure === "" ? impute : Number(r.tenure), Number(r.spend), Number(r.visits), PLANS.indexOf(r.plan)]);
    const expected = [0, 0, 0];
    for (const p of denseClassifierReference(SMOKE_CLASSIFIER, encoded)) expected[p.indexOf(Math.max(...p))]!++;
    expect(predictions.counts).toEqual(expected);
  });

  it("records the model's quality on the reference rows as the baseline with --target", async () => {
    const modelPath = join(dir, "model.onnx");
    writeFileSync(modelPath, buildDenseClassifier(SMOKE_CLASSIFIER));
    const out = join(dir, "with-target.json");
    // churned is 0 or 1: the index of class a or b
    const result = await run("profile", csvPath, "--exclude", "id", "--target", "churned", "--model", modelPath, "--labels", "a,b,c", "-o", out);
    expect(result.stderr).toBe("");
    const file: ProfileFile = JSON.parse(readFileSync(out, "utf8"));
    expect(file.features.map((f) => f.name)).not.toContain("churned");
    const impute = file.features[0]!.impute as number;
    const encoded = rows.map((r) => [r.tenure === "" ? impute : Number(r.tenure), Number(r.spend), Number(r.visits), PLANS.indexOf(r.plan)]);
    const predicted = denseClassifierReference(SMOKE_CLASSIFIER, encoded).map((p) => p.indexOf(Math.max(...p)));
    const correct = predicted.filter((p, i) => p === Number(rows[i]!.churned)).length;
    expect(file.profile.performance).toMatchObject({ kind: "classification", labelled: 500 });
    expect((file.profile.performance as { accuracy: number }).accuracy).toBeCloseTo(correct / 500, 12);
    expect(result.stdout).toContain(`baseline accuracy ${(correct / 500).toFixed(3)}`);
    // and the fit of label-free estimates: a curve per class, where misses go, a band
    const { estimation } = file.profile.performance as { estimation: { curves: number[][]; misses: number[][]; band: { rows: number } } };
    expect(estimation.curves.map((c) => c.length)).toEqual([32, 32, 32]);
    expect(estimation.misses).toHaveLength(3);
    expect(estimation.band.rows).toBeCloseTo(50, 0);
    expect((await run("profile", csvPath, "--target", "churned", "-o", out)).stderr).toContain("--target goes with --model");
    // rows without a target are left out of the baseline: the summary says how many it rests on
    const gaps = join(dir, "target-gaps.csv");
    const lines = readFileSync(csvPath, "utf8").trim().split("\n");
    const at = lines[0]!.split(",").indexOf("churned");
    writeFileSync(
      gaps,
      `${lines
        .map((l, i) =>
          i > 0 && i % 10 === 0
            ? l
                .split(",")
                .map((v, c) => (c === at ? "" : v))
                .join(",")
            : l,
        )
        .join("\n")}\n`,
    );
    const partial = await run("profile", gaps, "--exclude", "id", "--target", "churned", "--model", modelPath, "--labels", "a,b,c", "-o", out);
    expect(partial.stderr).toBe("");
    expect(partial.stdout).toMatch(/, baseline accuracy \d\.\d{3} on the 450 of 500 rows with a target \(/);
  });

  it("with a regression's --target, gives the output the targets' step and range and measures the baseline on labels as devices record them", async () => {
    const modelPath = join(dir, "regression.onnx");
    const regression = { weights: [[0.1], [0.02], [0.3]], bias: [1], outputName: "value", regression: true };
    writeFileSync(modelPath, buildDenseClassifier(regression));
    const out = join(dir, "regression.json");
    const result = await run("profile", csvPath, "--exclude", "id,churned", "--target", "visits", "--model", modelPath, "-o", out);
    expect(result.stderr).toBe("");
    const file: ProfileFile = JSON.parse(readFileSync(out, "utf8"));
    // visits are whole numbers from 0 to 10: a label is recorded as one of two (or three) of them
    expect(file.outputs).toEqual([{ name: "value", kind: "regression", step: 1, targets: { min: 0, max: 10 } }]);
    const impute = file.features[0]!.impute as number;
    const encoded = rows.map((r) => [r.tenure === "" ? impute : Number(r.tenure), Number(r.spend), PLANS.indexOf(r.plan)]);
    const predicted = denseClassifierReference(regression, encoded).map(([v]) => Math.fround(v!));
    const recorded = predicted.map((p, i) => pairedLabel(Number(rows[i]!.visits), 1, { min: 0, max: 10 }) - p);
    const mae = recorded.reduce((sum, r) => sum + Math.abs(r), 0) / rows.length;
    expect((file.profile.performance as { mae: number }).mae).toBeCloseTo(mae, 4);
  });

  it("names the file, line and column of a value that is not a number", async () => {
    const bad = join(dir, "bad.csv");
    writeFileSync(bad, "a,b\n1,2\n3,oops\n");
    const result = await run("profile", bad, "--categorical", "a", "-o", join(dir, "x.json"));
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(
      `driftline profile: ${bad}:3: column "b": "oops" is not a number (name it in --categorical if it is a category, in --exclude if the model does not take it: an id, a date, the target)`,
    );
  });

  it("says to leave out a date column the model does not take, not only to make it a category", async () => {
    // flights with a date beside the features, --categorical naming the two categories: the only
    // hint was --categorical, which would have made every day of the file a category of the model
    const flights = join(dir, "flights.csv");
    writeFileSync(flights, "date,weekday,hour,label\n2001-03-01,Thu,0.1167,late\n");
    const result = await run("profile", flights, "--categorical", "weekday,label", "-o", join(dir, "x.json"));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("in --exclude if the model does not take it: an id, a date, the target)");
  });

  it("says when the model's input width and the features disagree", async () => {
    const modelPath = join(dir, "model.onnx");
    const result = await run("profile", csvPath, "--exclude", "id", "--model", modelPath, "-o", join(dir, "y.json"));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/the model's input "features" has 4 columns but the profile's 5 features make 5 \(encoding index\): profile again with --exclude/);
  });

  it("refuses a table without rows, and says in one line when the profile cannot be written", async () => {
    const empty = join(dir, "header-only.csv");
    writeFileSync(empty, "a,b\n");
    expect(await run("profile", empty, "-o", join(dir, "empty.json"))).toMatchObject({
      code: 1,
      stderr: `driftline profile: ${empty} has no rows: a reference profile is made of the training data's rows\n`,
    });
    const nowhere = join(dir, "missing-dir", "p.json");
    expect(await run("profile", csvPath, "--exclude", "id,churned", "-o", nowhere)).toMatchObject({ code: 1, stderr: `driftline profile: cannot open ${nowhere}: no such file or directory\n` });
    expect(await run("profile", csvPath, "--exclude", "id,churned", "-o", dir)).toMatchObject({ code: 1, stderr: `driftline profile: cannot open ${dir}: is a directory\n` });
  });

  it("refuses an -o that names one of its inputs, and leaves that file as it was", async () => {
    const data = join(dir, "keep.csv");
    writeFileSync(data, "a,b\n1,2\n3,4\n");
    const texts = join(dir, "keep.txt");
    writeFileSync(texts, "one text\n");
    const cases: Array<[string[], string, string]> = [
      [["profile", data, "-o", data], data, "the data file"],
      // the same file by another path
      [["profile", data, "-o", `${dir}/./keep.csv`], `${dir}/./keep.csv`, "the data file"],
      [["profile", "--text", texts, "-o", texts], texts, "--text"],
    ];
    for (const [argv, out, what] of cases) {
      const before = readFileSync(out, "utf8");
      expect(await run(...argv), argv.join(" ")).toMatchObject({
        code: 2,
        stderr: `driftline profile: -o ${out} is ${what}: the profile would overwrite it; name another file\n(driftline profile --help shows its usage)\n`,
      });
      expect(readFileSync(out, "utf8")).toBe(before);
    }
  });

  it("adds the reference embeddings of --embeddings to a table's profile, as to a medium's", async () => {
    const embeddings = join(dir, "embeddings.ndjson");
    writeFileSync(embeddings, `${rows.map((_, i) => JSON.stringify(Array.from({ length: 10 }, (_, k) => Math.sin(i * 0.7 + k)))).join("\n")}\n`);
    const out = join(dir, "with-embeddings.json");
    const result = await run("profile", csvPath, "--exclude", "id,churned", "--embeddings", embeddings, "--embedding-dims", "4", "--embedding-features", "32", "-o", out);
    expect(result).toMatchObject({ code: 0, stderr: "", stdout: expect.stringMatching(/: 500 rows, 4 features \(.* s\), 10-value embeddings\n$/) });
    const profiled = JSON.parse(readFileSync(out, "utf8")) as ProfileFile;
    expect(profiled.embedding).toMatchObject({ length: 10, dims: 4, features: 32, seed: 1 });
    expect(decodeEmbedding(fromBase64(profiled.profile.embedding!.sketch)).count).toBe(500);
    expect(await run("profile", csvPath, "--embedding-dims", "4", "-o", out)).toMatchObject({ code: 2, stderr: expect.stringContaining("--embedding-dims goes with --embeddings") });
  });

  it("reports usage mistakes with exit code 2", async () => {
    expect((await run("profile", csvPath)).code).toBe(2);
    expect((await run("profile", csvPath, "-o", "x", "--encoding", "binary")).stderr).toMatch(/--encoding must be index or onehot/);
    expect((await run("profile", csvPath, "-o", "x", "--exclude", "nope")).stderr).toMatch(/has no column "nope"/);
  });

  it("names the list flag whose quoted name is not closed", async () => {
    const result = await run("profile", csvPath, "-o", "x", "--categorical", '"plan",visits', "--exclude", '"id');
    expect(result).toMatchObject({ code: 2, stderr: expect.stringContaining('driftline profile: --exclude: a quoted name is not closed: "id\n') });
  });
});

describe("driftline profile imputes as scikit-learn's SimpleImputer", () => {
  it("takes the mean of the two middle values of an even count, the smallest of tied categories, and the flags", async () => {
    const path = join(dir, "impute.csv");
    // x: 1, 2, 3, 10 and a missing one (median 2.5); k: b, a, b, a and a missing one (tie: a)
    writeFileSync(path, "x,k\n1,b\n10,a\n,\n2,b\n3,a\n");
    const result = await run("profile", path, "--categorical", "k", "--nullable", "x", "--unknown", "ignore", "-o", join(dir, "impute.json"));
    expect(result.code, result.stderr).toBe(0);
    const { features } = JSON.parse(readFileSync(join(dir, "impute.json"), "utf8")) as ProfileFile;
    expect(features[0]).toMatchObject({ name: "x", impute: 2.5, nullable: true, policy: "impute" });
    expect(features[1]).toMatchObject({ name: "k", impute: "a", policy: "ignore", categories: ["a", "b"] });
    expect(features[1]!.nullable).toBeUndefined();
  });

  it("takes a number past float32's range as the runtime does, as no number: neither the impute value nor the range hold it", async () => {
    const path = join(dir, "huge.csv");
    // x: 1, 2 and two numbers past float32's range (the runtime takes them as no number) and a missing one
    writeFileSync(path, "x\n1\n1e39\n2\n3e39\n\n");
    const result = await run("profile", path, "-o", join(dir, "huge.json"));
    expect(result.code, result.stderr).toBe(0);
    const { features } = JSON.parse(readFileSync(join(dir, "huge.json"), "utf8")) as ProfileFile;
    expect(features[0]).toMatchObject({ name: "x", impute: 1.5, range: { min: 1, max: 2 }, policy: "impute" });
    // a missing value on a device gets the impute value, not a `validation` error
    expect(featureValue(features[0]!)(null, () => {})).toBe(1.5);
  });

  it("cuts the impute value of a category name past LIMITS.nameLength as it cuts the categories, so a missing value on a device is imputed", async () => {
    const path = join(dir, "long-names.csv");
    const long = "a".repeat(200);
    // the most frequent category is longer than a name may be (128 characters)
    writeFileSync(path, `plan\n${long}\n${long}\nbasic\n`);
    const result = await run("profile", path, "--categorical", "plan", "-o", join(dir, "long-names.json"));
    expect(result.code, result.stderr).toBe(0);
    const { features } = JSON.parse(readFileSync(join(dir, "long-names.json"), "utf8")) as ProfileFile;
    expect(features[0]).toMatchObject({ categories: ["a".repeat(128), "basic"], impute: "a".repeat(128) });
    expect(featureValue(features[0]!)(null, () => {})).toBe(0);
  });

  it("refuses a numeric column without a value, as a categorical one, unless --nullable says the model takes it missing", async () => {
    const path = join(dir, "empty-column.csv");
    // b: empty in every row; c: only numbers past float32's range, which the runtime takes as none
    writeFileSync(path, "a,b,c\n1,,1e39\n2,,1e39\n3,,1e39\n");
    const empty = await run("profile", path, "--exclude", "c", "-o", join(dir, "empty-column.json"));
    expect(empty).toMatchObject({
      code: 1,
      stderr: `driftline profile: ${path}: column "b" has no values: leave it out with --exclude, or name it in --nullable if the model takes it missing\n`,
    });
    expect((await run("profile", path, "--exclude", "b", "-o", join(dir, "empty-column.json"))).stderr).toMatch(/column "c" has no values/);
    const nullable = await run("profile", path, "--nullable", "b,c", "-o", join(dir, "empty-column.json"));
    expect(nullable.code, nullable.stderr).toBe(0);
  });

  it("refuses a nullable column the data does not have", async () => {
    const result = await run("profile", csvPath, "--nullable", "nope", "-o", join(dir, "x.json"));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no column "nope"/);
  });
});

describe("driftline profile of one table in three formats", () => {
  // One table written as CSV, NDJSON and Parquet by DuckDB: test/fixtures/tables/write-with-duckdb.mjs
  const fixtures = new URL("../../fixtures/tables/", import.meta.url).pathname;

  async function profileOf(file: string, ...options: string[]): Promise<ProfileFile> {
    const out = join(dir, `${file}${options.length}.json`);
    // the first row has no plan, so kinds are named rather than guessed from it
    const result = await run("profile", join(fixtures, file), "--exclude", "id", "--categorical", "plan,active", "-o", out, ...options);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const profile: ProfileFile = JSON.parse(readFileSync(out, "utf8"));
    profile.profile.createdAt = "";
    return profile;
  }

  it("gets identical profiles from CSV, NDJSON and Parquet (Snappy, ZSTD, gzip)", async () => {
    const csv = await profileOf("rows.csv");
    expect(csv.profile.rows).toBe(600);
    expect(csv.features.map((f) => `${f.name}:${f.kind}`)).toEqual([
      "tenure:numeric",
      "spend:numeric",
      "visits:numeric",
      "plan:categorical",
      "active:categorical",
      "score:numeric",
      "ratio:numeric",
      "half:numeric",
    ]);
    expect(csv.features[3]).toMatchObject({ categories: ["basic", "pro", "team"] });
    expect(csv.features[4]).toMatchObject({ categories: ["false", "true"] });
    for (const file of ["rows.ndjson", "rows-snappy.parquet", "rows-zstd.parquet", "rows-gzip.parquet"]) {
      expect(await profileOf(file), file).toEqual(csv);
    }
  });

  it("sketches identical predictions from CSV and Parquet (the model reads the file a second time)", async () => {
    const modelPath = join(dir, "eight-inputs.onnx");
    const weights = Array.from({ length: 8 }, (_, i) => [Math.sin(i + 1) * 0.05, Math.cos(i + 1) * 0.05]);
    writeFileSync(modelPath, buildDenseClassifier({ weights, bias: [0, 0.1] }));
    const withModel = ["--model", modelPath, "--labels", "no,yes"];
    const csv = await profileOf("rows.csv", ...withModel);
    expect(decodeClassification(fromBase64(csv.profile.prediction!.sketch)).counts.reduce((a, b) => a + b)).toBe(600);
    expect(await profileOf("rows-zstd.parquet", ...withModel)).toEqual(csv);
  });

  it("takes --format over the extension, and says in one line when a file is not what it claims", async () => {
    const copy = join(dir, "table.bin");
    writeFileSync(copy, readFileSync(join(fixtures, "rows-zstd.parquet")));
    const out = join(dir, "format.json");
    expect((await run("profile", copy, "--format", "parquet", "--exclude", "id", "--categorical", "plan,active", "-o", out)).code).toBe(0);
    expect(JSON.parse(readFileSync(out, "utf8")).profile.rows).toBe(600);
    const wrong = await run("profile", copy, "--format", "xlsx", "-o", out);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/--format must be csv or ndjson or parquet, got "xlsx"/);
    const fake = join(dir, "fake.parquet");
    writeFileSync(fake, "a,b\n1,2\n");
    const result = await run("profile", fake, "-o", out);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(`driftline profile: ${fake} cannot be read as Parquet: parquet file invalid (footer != PAR1)`);
  });
});

describe("driftline profile of a table the model cannot take", () => {
  it("says so once it has read the header and first rows, not after a pass over the whole file", async () => {
    const csv = join(dir, "wide.csv");
    // 3 columns for a model of 2; a cell past the first batch that the pass would refuse first
    const rows = Array.from({ length: 10_000 }, (_, i) => (i === 9_000 ? "1,2,x" : `${i},${i % 7},${i % 3}`));
    writeFileSync(csv, `a,b,c\n${rows.join("\n")}\n`);
    const model = join(dir, "narrow.onnx");
    writeFileSync(model, buildDenseClassifier({ weights: [[1], [0.5]], bias: [1], regression: true, outputName: "value" }));
    const result = await runCli("profile", csv, "--model", model, "-o", join(dir, "wide.json"));
    expect(result).toMatchObject({
      code: 1,
      stderr: `driftline profile: the model's input "features" has 2 columns but the profile's 3 features make 3 (encoding index): profile again with --exclude (the target, ids), --categorical or --encoding\n`,
    });
  });
});
