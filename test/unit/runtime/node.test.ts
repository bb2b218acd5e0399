// The runtime under Node (simulators, CLIs): cache off, onnxruntime-web from the npm package,
// the collector's HTTP API answered by an in-memory Transport.
import { describe, expect, it } from "vitest";
import { createRuntime, DriftlineError, type Runtime } from "../../../runtime/index.ts";
import { LIMITS } from "../../../protocol/limits.ts";
import { type Report, reportSchema } from "../../../protocol/schema/report.ts";
import { memoryStore } from "../../../runtime/model-store.ts";
import { memoryCollector as collectorOf } from "../../fixtures/memory-collector.ts";
import { fromBase64, decodeCategorical, decodeClassification, decodeErrorCounts, decodeLatency, decodeNumeric } from "../../../protocol/sketch/index.ts";
import { churnColumns, churnModel, churnRows, wideModel } from "../../fixtures/runtime-models.ts";
import { denseClassifierReference } from "../../fixtures/onnx-models.ts";
import { normalisedEntropy } from "../../../protocol/sketch/prediction.ts";
// the `<script>` entry: sets globalThis.Driftline, as dist/driftline.iife.js does in a page
import "../../../runtime/script-tag.ts";

const tagEntry = (globalThis as unknown as { Driftline: { createRuntime: typeof createRuntime } }).Driftline;

function memoryCollector(model = churnModel("churn")) {
  return { ...collectorOf(model.bytes, model.manifest), model };
}

/** A clock whose idle time comes when the test runs it (`runIdle`); `offset` moves its time. */
function idleClock() {
  const idle: Array<() => void> = [];
  const c = { offset: 0, runIdle: () => idle.splice(0).forEach((fn) => fn()) };
  const clock = { now: () => Date.now() + c.offset, setTimeout, clearTimeout, idle: (fn: () => void) => void idle.push(fn) };
  return Object.assign(c, { clock });
}

/** Rows of the shadow's runs in `reports`. */
const shadowRows = (reports: Report[]) => reports.reduce((rows, r) => rows + (r.shadow?.rows ?? 0), 0);

/** Predicts until a report of the shadow's rows arrives (the shadow loads after the start); answers the shadow rows reported. */
async function untilShadowReports(rt: Runtime, runIdle: () => void, reports: Report[]): Promise<number> {
  await expect
    .poll(async () => {
      await rt.predict(churnRows(1));
      runIdle();
      await rt.flush();
      return shadowRows(reports);
    })
    .toBeGreaterThan(0);
  return shadowRows(reports);
}

describe("runtime under Node", () => {
  it("loads with cache off, predicts like the reference, and reports", async () => {
    const { transport, reports, model } = memoryCollector();
    const rt = await createRuntime({ collector: "http://collector.test", key: "ing_x", model: "churn", cache: false, transport, client: "node-1" });
    expect(rt.backend).toEqual({ name: "wasm", reason: "only-wasm" });
    const rows = churnRows(8);
    const out = await rt.predict(rows);
    const expected = denseClassifierReference(model.classifier, rows.map(churnColumns));
    out.forEach((p, i) => Array.from(p.outputs.probabilities as Float32Array).forEach((x, j) => expect(x).toBeCloseTo(expected[i]![j]!, 5)));
    await expect(rt.predict({ tenure: 1 })).rejects.toBeInstanceOf(DriftlineError);
    expect(await rt.feedback(out[0]!.id, "churn")).toBe(true);
    await rt.close();
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({
      rows: 8,
      client: "node-1",
      role: "live",
      segment: { backend: "wasm", backendReason: "only-wasm", device: expect.stringMatching(/^desktop-(2|4|8|16|x)c-xg-nogpu$/) },
    });
    expect(reports[0]!.confusion).toBeDefined();
    await expect(rt.predict(rows[0]!)).rejects.toMatchObject({ code: "closed" });
  });

  it("makes a row's outputs when first read: its slices of the batch's tensors, the same object on every read, not carried by JSON or postMessage, readable through a Proxy", async () => {
    const { transport, model } = memoryCollector();
    const rt = await createRuntime({ collector: "http://collector.test", key: "ing_x", model: "churn", cache: false, transport });
    const rows = churnRows(5);
    const batch = await rt.predict(rows);
    const one = await rt.predict(rows[2]!);
    const expected = denseClassifierReference(model.classifier, rows.map(churnColumns));
    for (const [i, p] of [...batch.entries(), [2, one] as const]) {
      const probabilities = p.outputs.probabilities as Float32Array;
      expect(p.outputs).toBe(p.outputs);
      expect(Object.keys(p.outputs)).toEqual(["probabilities"]);
      expect(probabilities).toHaveLength(3);
      probabilities.forEach((x, j) => expect(x).toBeCloseTo(expected[i]![j]!, 5));
      expect(p.label).toBe(model.manifest.outputs[0]!.labels![probabilities.indexOf(Math.max(...probabilities))]);
      const own = { id: p.id, label: p.label, score: p.score, version: "1" };
      expect(JSON.parse(JSON.stringify(p))).toEqual(own);
      expect(structuredClone(p)).toEqual(own);
      expect(Object.keys({ ...p })).toEqual(Object.keys(own));
      // read through a Proxy, as Vue's reactive state and MobX wrap what an app keeps
      const reactive = new Proxy(p, { get: (target, key, receiver) => Reflect.get(target, key, receiver) });
      expect(Array.from(reactive.outputs.probabilities as Float32Array)).toEqual(Array.from(probabilities));
    }
    // views of one buffer: the batch's tensor, not copies
    expect((batch[4]!.outputs.probabilities as Float32Array).buffer).toBe((batch[0]!.outputs.probabilities as Float32Array).buffer);
    await rt.close();
  });

  it("reads a frozen row's outputs (an app may Object.freeze what it keeps): the same object on every read", async () => {
    const { transport, model } = memoryCollector();
    const rt = await createRuntime({ collector: "http://collector.test", key: "ing_x", model: "churn", cache: false, transport });
    const rows = churnRows(3);
    const expected = denseClassifierReference(model.classifier, rows.map(churnColumns));
    const batch = (await rt.predict(rows)).map((p) => Object.freeze(p));
    for (const [i, p] of batch.entries()) {
      expect(p.outputs).toBe(p.outputs);
      Array.from(p.outputs.probabilities as Float32Array).forEach((x, j) => expect(x).toBeCloseTo(expected[i]![j]!, 5));
    }
    await rt.close();
  });

  it("answers a developer's mistakes with coded errors", async () => {
    const { transport, reports } = memoryCollector();
    const base = { collector: "http://collector.test", key: "ing_x", model: "churn", cache: false, transport };
    for (const create of [createRuntime, tagEntry.createRuntime])
      for (const wrong of [{ ...base, collector: undefined }, { ...base, collector: "collector.test" }, { ...base, key: undefined }, { ...base, model: "" }, undefined])
        await expect(create(wrong as never)).rejects.toMatchObject({ code: "validation", message: "createRuntime needs collector (an http:// or https:// URL), key and model" });
    // a segment the collector would refuse (every report lost): refused at the start
    const segments = [{ a: "1", b: "2", c: "3", d: "4", e: "5", f: "6" }, { n: 5 }, { "app version": "4.2" }, { appVersion: "x".repeat(65) }];
    for (const segment of segments)
      await expect(createRuntime({ ...base, segment } as never)).rejects.toMatchObject({
        code: "validation",
        message: "segment: at most 5 keys (A-Z a-z 0-9 _ . -), each a string of at most 64 characters",
      });
    // a client the collector refuses: every report lost
    for (const client of [42, "", "c".repeat(129)])
      await expect(createRuntime({ ...base, client } as never)).rejects.toMatchObject({ code: "validation", message: "client: a string of 1 to 128 characters" });
    for (const [k, v] of [
      ["timeoutMs", "abc"],
      ["reportIntervalMs", -1],
      ["pollIntervalMs", Infinity],
      ["feedbackCapacity", 0],
      ["warmupRuns", -1],
      ["reportRows", Number.NaN],
    ] as const)
      await expect(createRuntime({ ...base, [k]: v } as never)).rejects.toMatchObject({ code: "validation", message: `${k}: ${v} is out of range` });
    const down = { fetch: async () => Promise.reject(Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNREFUSED" } })), beacon: () => false };
    await expect(createRuntime({ ...base, transport: down })).rejects.toMatchObject({ code: "network", message: expect.stringMatching(/: fetch failed \(ECONNREFUSED\)$/) });
    const rt = await createRuntime(base);
    // a row that is no object has no values: each feature's policy decides (churn's reject)
    await expect(rt.predict(null as never)).rejects.toMatchObject({ code: "validation" });
    const { id } = await rt.predict(churnRows(1)[0]!);
    await rt.close();
    expect(decodeErrorCounts(fromBase64(reports[0]!.errors!)).counts.get("validation")).toBe(1);
    await expect(rt.predict(churnRows(1)[0]!)).rejects.toMatchObject({ code: "closed", message: "this runtime is closed: createRuntime() makes another" });
    // no report would carry a label joined now: it stays in the stored ring for another runtime
    await expect(rt.feedback(id, "churn")).rejects.toMatchObject({ code: "closed", message: "this runtime is closed: createRuntime() makes another" });
  });

  it("takes a number past float32's range as no number, by the feature's policy, not fed to the model as Infinity", async () => {
    const { transport, reports } = memoryCollector();
    const rt = await createRuntime({ collector: "http://collector.test", key: "ing_x", model: "churn", cache: false, transport });
    const row = churnRows(1)[0]!;
    const sentinel = await rt.predict({ ...row, charges: Number.MAX_VALUE });
    const imputed = await rt.predict({ ...row, charges: 50 });
    // charges: impute 50 (runtime-models.ts); age: reject
    await expect(rt.predict({ ...row, age: 1e200 })).rejects.toMatchObject({ code: "validation" });
    await rt.close();
    expect(Array.from(sentinel.outputs.probabilities as Float32Array)).toEqual(Array.from(imputed.outputs.probabilities as Float32Array));
    expect(decodeErrorCounts(fromBase64(reports[0]!.errors!)).counts.get("validation")).toBe(2);
  });

  it("answers calls still in flight when the runtime closes as `closed`: rows predicted = rows reported", async () => {
    const { transport, reports } = memoryCollector();
    const rt = await createRuntime({ collector: "http://collector.test", key: "ing_x", model: "churn", cache: false, transport });
    await rt.predict(churnRows(2));
    const pending = [rt.predict(churnRows(3)), rt.predictColumns({ tenure: [3], charges: [40], age: [30], plan: ["basic"] })];
    await rt.close();
    const answered = await Promise.allSettled(pending);
    expect(answered.map((a) => (a.status === "rejected" ? (a.reason as DriftlineError).code : "answered"))).toEqual(["closed", "closed"]);
    expect(reports.reduce((rows, r) => rows + r.rows, 0)).toBe(2);
  });

  it("resolves every close() once the last report is sent: a second close() does not return before the first's flush", async () => {
    const { transport, reports } = memoryCollector();
    const rt = await createRuntime({ collector: "http://collector.test", key: "ing_x", model: "churn", cache: false, transport });
    await rt.predict(churnRows(3));
    // a finally and a signal handler both closing: the process exits once either resolves
    const first = rt.close();
    await rt.close();
    expect(reports.reduce((rows, r) => rows + r.rows, 0)).toBe(3);
    await first;
  });
  it("reports the shadow's rows of an idle-time run still going when the runtime closes", async () => {
    const { transport, reports, assignment } = memoryCollector();
    Object.assign(assignment, { shadow: { version: 2, sampleRate: 1, manifest: { ...assignment.manifest, version: 2 } } });
    const { clock, runIdle } = idleClock();
    const rt = await createRuntime({ collector: "http://collector.test", key: "ing_x", model: "churn", cache: false, transport, clock });
    const before = await untilShadowReports(rt, runIdle, reports);
    await rt.predict(churnRows(5));
    // the shadow's run of those rows starts in idle time and is still going as close() flushes
    runIdle();
    await rt.close();
    expect(shadowRows(reports) - before).toBe(5);
  });

  it("reports the shadow's rows also when the clock was set back since its last report: its period never ends before it starts", async () => {
    const { transport, reports, assignment } = memoryCollector();
    Object.assign(assignment, { shadow: { version: 2, sampleRate: 1, manifest: { ...assignment.manifest, version: 2 } } });
    const time = idleClock();
    const { clock, runIdle } = time;
    const rt = await createRuntime({ collector: "http://collector.test", key: "ing_x", model: "churn", cache: false, transport, clock, reportIntervalMs: 3_600_000 });
    await untilShadowReports(rt, runIdle, reports);
    // the device's clock set back an hour (NTP, or its user)
    time.offset = -3_600_000;
    await rt.predict(churnRows(3));
    runIdle();
    await rt.close();
    const last = reports.filter((r) => r.role === "shadow").at(-1)!;
    expect(last.shadow!.rows).toBe(3);
    expect(reportSchema.safeParse(last).error?.issues).toBeUndefined();
  });

  it("reports the shadow's rows of the time its successor took to load: the outgoing shadow's report is cut as the new one takes over", async () => {
    const { transport, reports, assignment } = memoryCollector();
    const other = churnModel("churn", 1);
    Object.assign(assignment, { shadow: { version: 2, sampleRate: 1, manifest: { ...assignment.manifest, version: 2 } } });
    const { clock, runIdle } = idleClock();
    // shadow version 3 (other bytes): its download waits until `go()`
    let go = () => {};
    const gate = new Promise<void>((resolve) => (go = resolve));
    const held: typeof transport = {
      ...transport,
      fetch: async (url, init) => (url.endsWith(other.manifest.sha256) ? (await gate, new Response(other.bytes as Uint8Array<ArrayBuffer>)) : transport.fetch(url, init)),
    };
    // an update prunes the stored models once it has swapped
    const memory = memoryStore();
    let prunes = 0;
    const store = { ...memory, keys: (area: "models" | "meta" | "queue") => ((prunes += +(area === "models")), memory.keys(area)) };
    const rt = await createRuntime({ collector: "http://collector.test", key: "ing_x", model: "churn", cache: false, store, transport: held, clock, push: false, reportIntervalMs: 3_600_000 });
    const before = await untilShadowReports(rt, runIdle, reports);
    const swapped = prunes;
    // the next answer names config version 2: the runtime fetches it and starts loading shadow 3
    const { profile: _p, ...clientManifest } = other.manifest;
    Object.assign(assignment, { shadow: { version: 3, sampleRate: 1, manifest: { ...clientManifest, version: 3 } }, configVersion: 2 });
    await rt.predict(churnRows(1));
    runIdle();
    await rt.flush();
    await new Promise((resolve) => setTimeout(resolve, 50));
    // 5 calls while it loads: shadow 2 runs on their rows
    for (let i = 0; i < 5; i++) {
      await rt.predict(churnRows(1));
      runIdle();
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    go();
    await expect.poll(() => prunes).toBeGreaterThan(swapped);
    await rt.predict(churnRows(1));
    runIdle();
    await rt.close();
    const rowsOf = (version: number) => reports.filter((r) => r.shadow?.version === version).reduce((rows, r) => rows + r.shadow!.rows, 0);
    expect([rowsOf(2) - before, rowsOf(3)]).toEqual([6, 1]);
  });

  it("keeps a prediction whose label was mistyped for the label meant, and joins a batch's rows only by their own ids", async () => {
    const { transport, reports } = memoryCollector();
    const rt = await createRuntime({ collector: "http://collector.test", key: "ing_x", model: "churn", cache: false, transport });
    const [one] = await rt.predict(churnRows(2));
    expect(await rt.feedback(one!.id, "Churn")).toBe(false);
    expect(await rt.feedback(one!.id, 7)).toBe(false);
    expect(await rt.feedback(one!.id, 0.5)).toBe(false);
    expect(await rt.feedback(one!.id, "churn")).toBe(true);
    expect(await rt.feedback(one!.id, "churn")).toBe(false);
    // a batch's own id is no row's
    const batch = await rt.predictColumns({ tenure: [1, 2], charges: [10, 20], age: [30, 40], plan: ["pro", "basic"] });
    expect(await rt.feedback(batch.id, "stay")).toBe(false);
    expect(await rt.feedback(`${batch.id}1`, "stay")).toBe(true);
    expect(await rt.feedback(undefined as never, "stay")).toBe(false);
    // run()'s id is its first row's
    const raw = await rt.run({ features: { type: "float32", data: Float32Array.from(churnRows(2).flatMap(churnColumns)), dims: [2, 6] } });
    expect(await rt.feedback(raw.id, "stay")).toBe(true);
    expect(await rt.feedback(`${raw.id.slice(0, -1)}1`, "stay")).toBe(true);
    await rt.close();
    // the three mistyped labels
    expect(decodeErrorCounts(fromBase64(reports[0]!.errors!)).counts.get("validation")).toBe(3);
  });

  it("answers a columnar batch as predict() answers the same rows, and reports it the same", async () => {
    const runs = await Promise.all(
      ["rows", "columns"].map(async (kind) => {
        const { transport, reports } = memoryCollector();
        const rt = await createRuntime({ collector: "http://collector.test", key: "ing_x", model: "churn", cache: false, transport });
        // a missing charges value (imputed) and an out-of-range tenure (clamped) take the slow path
        const rows = [...churnRows(40), { tenure: 500, charges: undefined, age: 30, plan: "pro" }] as Array<Record<string, number | string | undefined>>;
        let answer: { classes: number[]; scores: number[]; id: string };
        if (kind === "rows") {
          const out = await rt.predict(rows);
          answer = { classes: out.map((p) => ["stay", "churn", "upgrade"].indexOf(p.label!)), scores: out.map((p) => p.score!), id: out[3]!.id };
        } else {
          const columns = {
            tenure: Float64Array.from(rows, (r) => r.tenure as number),
            charges: rows.map((r) => r.charges),
            age: new Float64Array(rows.map((r) => r.age as number)),
            plan: rows.map((r) => r.plan as string),
          };
          const out = await rt.predictColumns(columns);
          expect(out.rows).toBe(41);
          expect(out.labels).toEqual(["stay", "churn", "upgrade"]);
          expect((out.outputs.probabilities!.data as Float32Array).length).toBe(41 * 3);
          answer = { classes: Array.from(out.classes), scores: Array.from(out.scores), id: `${out.id}3` };
        }
        expect(await rt.feedback(answer.id, "churn")).toBe(true);
        await rt.close();
        const { id: _id, client: _client, start: _start, end: _end, latency: _latency, ...report } = reports[0]!;
        return { answer: { classes: answer.classes, scores: answer.scores }, report };
      }),
    );
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[0]!.report.rows).toBe(41);
  });

  it("sketches every staged row by flush(), whether idle time came or not", async () => {
    const { transport, reports } = memoryCollector();
    const idle: Array<() => void> = [];
    const clock = { now: () => Date.now(), setTimeout: () => 0, clearTimeout: () => {}, idle: (fn: () => void) => void idle.push(fn) };
    const rt = await createRuntime({ collector: "http://collector.test", key: "ing_x", model: "churn", cache: false, transport, clock });
    for (let i = 0; i < 10; i++) await rt.predict(churnRows(50, i * 50));
    await rt.predict({ tenure: 500, charges: "x", age: 30, plan: "pro" });
    expect(idle).toHaveLength(1); // one idle callback for everything staged since the last fold
    idle.shift()!();
    for (let i = 0; i < 4; i++) await rt.predict(churnRows(25));
    expect(idle).toHaveLength(1); // never run: flush() must fold what it staged
    await rt.flush();
    expect(reports).toHaveLength(1);
    expect(reports[0]!.rows).toBe(601);
    const tenure = decodeNumeric(fromBase64(reports[0]!.features.tenure!));
    const charges = decodeNumeric(fromBase64(reports[0]!.features.charges!));
    expect([tenure.count, tenure.outOfRange, charges.count, charges.nonFinite]).toEqual([601, 1, 600, 1]);
    expect(decodeClassification(fromBase64(reports[0]!.prediction!)).counts.reduce((a, b) => a + b)).toBe(601);
    expect(decodeLatency(fromBase64(reports[0]!.latency!)).backends.get("wasm")!.n).toBe(15);
    await rt.close();
  });

  it("sketches each prediction's entropy in idle time from the probabilities as answered, whatever the app does to them after", async () => {
    const { transport, reports } = memoryCollector();
    const idle: Array<() => void> = [];
    const clock = { now: () => Date.now(), setTimeout: () => 0, clearTimeout: () => {}, idle: (fn: () => void) => void idle.push(fn) };
    const rt = await createRuntime({ collector: "http://collector.test", key: "ing_x", model: "churn", cache: false, transport, clock });
    const batch = await rt.predict(churnRows(8));
    const one = await rt.predict(churnRows(1, 8)[0]!);
    const entropies = [...batch, one].map((p) => normalisedEntropy(Array.from(p.outputs.probabilities as Float32Array)));
    // the app overwrites the outputs it was given before idle time comes: the sketch is not changed
    for (const p of [...batch, one]) (p.outputs.probabilities as Float32Array).fill(1);
    await rt.flush();
    const { entropy } = decodeClassification(fromBase64(reports[0]!.prediction!));
    expect([entropy.n, entropy.min, entropy.max]).toEqual([9, Math.min(...entropies), Math.max(...entropies)]);
    await rt.close();
  });

  it("sketches every call whole when calls outgrow the staging's buffer and fill its cap, one by one and 10 at once", async () => {
    const { transport, reports } = memoryCollector();
    const idle: Array<() => void> = [];
    const clock = { now: () => Date.now(), setTimeout: () => 0, clearTimeout: () => {}, idle: (fn: () => void) => void idle.push(fn) };
    const rt = await createRuntime({ collector: "http://collector.test", key: "ing_x", model: "churn", cache: false, transport, clock });
    // idle time never coming, calls of 1,020 rows (6,120 values each) outgrow the first buffers,
    // then fill the staging's cap of 131,072 values, one by one (each region taken once the last
    // call is staged) and then 10 at once (10 regions open while the cap folds what waits). Each
    // call has its own tenure and plan: a call sketched from another's values shows.
    const call = (k: number) => churnRows(1020, 160 + 1020 * k).map((r) => ({ ...r, tenure: k, plan: ["basic", "pro", "enterprise"][k % 3]! }));
    const batches = [await rt.predict(churnRows(160))];
    for (let k = 0; k < 40; k++) batches.push(await rt.predict(call(k)));
    batches.push(...(await Promise.all(Array.from({ length: 10 }, (_, k) => rt.predict(call(40 + k))))));
    const rows = [...churnRows(160), ...Array.from({ length: 50 }, (_, k) => call(k)).flat()];
    const predictions = batches.flat();
    const probabilities = predictions.map((p) => Array.from(p.outputs.probabilities as Float32Array));
    const entropies = probabilities.map((p) => normalisedEntropy(p));
    const classes = [0, 1, 2].map((c) => probabilities.filter((p) => p.indexOf(Math.max(...p)) === c).length);
    for (const p of predictions) (p.outputs.probabilities as Float32Array).fill(1);
    await rt.flush();
    expect(reports).toHaveLength(1);
    const { entropy, counts } = decodeClassification(fromBase64(reports[0]!.prediction!));
    expect([entropy.n, entropy.min, entropy.max]).toEqual([rows.length, Math.min(...entropies), Math.max(...entropies)]);
    expect(counts).toEqual(classes);
    expect(decodeCategorical(fromBase64(reports[0]!.features.plan!)).counts).toEqual(["basic", "pro", "enterprise"].map((p) => rows.filter((r) => r.plan === p).length));
    // the mean of the values as blurred (docs/privacy.md): within 0.05 of the exact one
    for (const f of ["tenure", "charges", "age"] as const) {
      const sketch = decodeNumeric(fromBase64(reports[0]!.features[f]!));
      expect([sketch.count, sketch.mean]).toEqual([rows.length, expect.closeTo(rows.reduce((a, r) => a + r[f], 0) / rows.length, 1)]);
    }
    await rt.close();
  });

  it("keeps the option's reportRows when the assignment's is none it can take (a broken or hostile collector's 0)", async () => {
    const { transport, reports, assignment } = memoryCollector();
    Object.assign(assignment, { reportRows: 0 });
    const rt = await createRuntime({ collector: "http://collector.test", key: "ing_x", model: "churn", cache: false, transport, reportRows: 5, reportIntervalMs: 3_600_000 });
    for (const row of churnRows(10)) await rt.predict(row);
    await rt.close();
    // on the code before: a report for every call
    expect(reports.map((r) => r.rows)).toEqual([5, 5]);
  });

  it("cuts a report before a call would take it past the rows a report may cover: at reportRows 1,000,000, batches of 400,000 make reports the collector takes", async () => {
    const { transport, reports, assignment } = memoryCollector();
    // the most the collector's assignment schema allows
    Object.assign(assignment, { reportRows: LIMITS.reportRows });
    const rt = await createRuntime({ collector: "http://collector.test", key: "ing_x", model: "churn", cache: false, transport, reportIntervalMs: 3_600_000 });
    const n = 400_000;
    const column = (f: (i: number) => number) => Float64Array.from({ length: n }, (_, i) => f(i));
    for (let call = 0; call < 3; call++)
      await rt.predictColumns({ tenure: column((i) => i % 90), charges: column((i) => 20 + (i % 80)), age: column((i) => 18 + (i % 60)), plan: Array.from({ length: n }, () => "pro") });
    await rt.close();
    expect(reports.map((r) => r.rows)).toEqual([800_000, 400_000]);
    for (const r of reports) expect(reportSchema.safeParse(r).success).toBe(true);
  });

  it("refuses a call of more rows than a report may cover with a coded error: no report the collector refuses is made", async () => {
    const { transport, reports } = memoryCollector();
    const rt = await createRuntime({ collector: "http://collector.test", key: "ing_x", model: "churn", cache: false, transport, reportIntervalMs: 3_600_000 });
    const n = LIMITS.reportRows + 1;
    const column = (f: (i: number) => number) => Float64Array.from({ length: n }, (_, i) => f(i));
    const columns = { tenure: column((i) => i % 90), charges: column((i) => 20 + (i % 80)), age: column((i) => 18 + (i % 60)), plan: Array.from({ length: n }, () => "pro") };
    const message = "1000001 rows: at most 1000000 a call";
    await expect(rt.predictColumns(columns)).rejects.toMatchObject({ code: "validation", message });
    await expect(rt.predict(Array.from({ length: n }, () => churnRows(1)[0]!))).rejects.toMatchObject({ code: "validation", message });
    await rt.predict(churnRows(3));
    await rt.close();
    expect(reports.map((r) => r.rows)).toEqual([3]);
    for (const r of reports) expect(reportSchema.safeParse(r).success).toBe(true);
  });

  it("keeps a report's error counts within what the collector takes when a sparse model's rows leave most features to their impute value", async () => {
    // 500 features imputing 0 and rows naming none of them: each row is 500 violations
    const { transport, reports } = memoryCollector({ ...wideModel("wide", { numeric: 500 }), classifier: undefined } as never);
    const rt = await createRuntime({ collector: "http://collector.test", key: "ing_x", model: "wide", cache: false, transport, reportIntervalMs: 3_600_000 });
    for (let call = 0; call < 3; call++) await rt.predict(Array.from({ length: 1000 }, () => ({})));
    await rt.close();
    expect(reports.reduce((n, r) => n + r.rows, 0)).toBe(3000);
    for (const r of reports) {
      expect(reportSchema.safeParse(r).success).toBe(true);
      const errors = [...decodeErrorCounts(fromBase64(r.errors!)).counts.values()].reduce((a, b) => a + b, 0);
      // the collector refuses a report of more (collector/ingest/check-report.ts checkWeights): its rows lost
      expect(errors).toBeLessThanOrEqual(LIMITS.reportRows);
    }
  });

  it("sketches a category given as an object that has no text (a null-prototype object) as an unseen one: flush() and close() resolve, every row reported", async () => {
    const model = churnModel("churn");
    const features = model.manifest.features.map((f) => (f.name === "plan" ? { ...f, policy: "impute" as const, impute: "basic" } : f));
    const { transport, reports } = memoryCollector({ ...model, manifest: { ...model.manifest, features } });
    const rt = await createRuntime({ collector: "http://collector.test", key: "ing_x", model: "churn", cache: false, transport, reportIntervalMs: 3_600_000 });
    await rt.predict(churnRows(5));
    // String() of it throws: it has neither toString nor valueOf
    await rt.predict({ ...churnRows(1)[0]!, plan: Object.create(null) });
    await rt.flush();
    await rt.close();
    expect(reports.map((r) => r.rows)).toEqual([6]);
    const plan = decodeCategorical(fromBase64(reports[0]!.features.plan!));
    expect([plan.counts.reduce((a, b) => a + b), plan.other, plan.heavy.size]).toEqual([5, 1, 0]);
  });

  it("refuses a value with no text (a null-prototype object) of a feature that rejects as a coded validation error naming its type", async () => {
    const { transport } = memoryCollector();
    const rt = await createRuntime({ collector: "http://collector.test", key: "ing_x", model: "churn", cache: false, transport });
    const plan = rt.predict({ ...churnRows(1)[0]!, plan: Object.create(null) });
    await expect(plan).rejects.toMatchObject({ code: "validation", message: 'feature "plan": object (object) is not one of its categories' });
    const tenure = rt.predict({ ...churnRows(1)[0]!, tenure: Object.create(null) });
    await expect(tenure).rejects.toMatchObject({ code: "validation", message: 'feature "tenure": object (object) is not a finite float32' });
    await rt.close();
  });

  it("refuses raw feeds of more rows than a report may cover as predict() refuses rows: no report the collector refuses is made", async () => {
    const { transport, reports } = memoryCollector();
    const rt = await createRuntime({ collector: "http://collector.test", key: "ing_x", model: "churn", cache: false, transport, reportIntervalMs: 3_600_000 });
    const n = LIMITS.reportRows + 1;
    await expect(rt.run({ features: { type: "float32", data: new Float32Array(6 * n), dims: [n, 6] } })).rejects.toMatchObject({ code: "validation", message: "1000001 rows: at most 1000000 a call" });
    await rt.run({ features: { type: "float32", data: new Float32Array(6 * 3), dims: [3, 6] } });
    await rt.close();
    expect(reports.map((r) => r.rows)).toEqual([3]);
    for (const r of reports) expect(reportSchema.safeParse(r).success).toBe(true);
  });

  it("makes a client id anew when the stored one is none the collector takes (written by other script)", async () => {
    const { transport, reports } = memoryCollector();
    const store = memoryStore();
    await store.put("meta", "client", { id: 7 });
    const rt = await createRuntime({ collector: "http://collector.test", key: "ing_x", model: "churn", cache: false, store, transport });
    await rt.predict(churnRows(1)[0]!);
    await rt.close();
    // on the code before: the stored object went out as the client, and the collector refuses such a report
    expect(reports.map((r) => typeof r.client)).toEqual(["string"]);
    expect(await store.get("meta", "client")).toBe(reports[0]!.client);
  });

  it("fails with a coded error when the model bytes do not match the manifest", async () => {
    const { transport } = memoryCollector({ ...churnModel("churn"), bytes: new Uint8Array([1, 2, 3]) });
    await expect(createRuntime({ collector: "http://c.test", key: "k", model: "churn", cache: false, transport })).rejects.toMatchObject({ code: "integrity" });
  });
});
