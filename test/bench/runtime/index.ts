// Benchmark: the runtime's predict() against bare onnxruntime-web session.run on the same tabular
// model in the same page (headless Chromium, wasm backend, sample rate 1), batch 1 and 64, for three
// models of the churn schema (6 columns, 3 classes): `linear` (one MatMul, Add, Softmax: about the
// smallest model there is, so the runtime's share is the largest), `mlp` (two ReLU layers of 128:
// a small tabular network) and `trees` (a gradient-boosted tree ensemble of 100 rounds × 3 classes
// of depth 6, XGBoost's defaults: the usual production tabular model).
//
// Run:   npm run bench -- runtime
// Prints one JSON object; per model and batch size the median milliseconds per call of each loop (medians
// of blocks of calls; blocks interleaved, their order rotating) and three ratios:
// - latencyRatio = predict / bare: time until predict() resolves against session.run with a
//   prebuilt tensor (the definition; target ≤ 1.03). Sketching is deferred to idle time,
//   which comes between blocks (untimed, like a page between bursts of predictions).
// - throughputRatio = predict+drain / bare: the same loop, but each block ends by sketching
//   everything it deferred, so the deferred CPU is counted too.
// - vsHandWritten = predict / hand: against what an app does without Driftline: build a
//   Float32Array from the same named rows, session.run, read each row's class and score.
// - noiseRatio = bare again / bare: the same bare loop timed twice, so how far apart two equal
//   loops land in this run (the benchmark's resolution, against a target of 3%).
// Not a test: never run by vitest. The collector's HTTP API is answered in the page from memory
// (the benchmark measures predict(), not start-up).
import "../../browser/harness/page-globals.ts";
import { launchBrowser } from "../../browser/harness/browser.ts";
import { openRuntimePage, startRuntimeServer } from "../../browser/harness/runtime-page.ts";
import { churnColumns, churnModel, churnRows, churnTreeModel } from "../../fixtures/runtime-models.ts";

const BLOCKS = Number(process.env.BLOCKS ?? 41);
const CALLS = Number(process.env.CALLS ?? 200);
const WARMUP_MS = Number(process.env.WARMUP_MS ?? 3000);

const MODELS = { linear: () => churnModel("linear"), mlp: () => churnModel("mlp", 0, {}, [128, 128]), trees: () => churnTreeModel("trees") };
const server = await startRuntimeServer();
const models = Object.entries(MODELS).map(([name, build]) => {
  const model = build();
  const { profile: _profile, ...clientManifest } = model.manifest;
  server.set(`/${model.manifest.sha256}.onnx`, model.bytes);
  server.set(`/${name}.json`, JSON.stringify({ model: name, version: 1, manifest: { ...clientManifest, version: 1 }, sampleRate: 1, configVersion: 1 }));
  return { name, sha: model.manifest.sha256 };
});
const browser = await launchBrowser();
try {
  const page = await browser.context.newPage();
  // bundlers that keep names (esbuild keepNames, tsx) make functions sent to the page call `__name`
  await page.addInitScript({ content: "window.__name = (f) => f;" });
  await openRuntimePage(page, server);
  const batches = [1, 64].map((n) => ({ n, rows: churnRows(n), columns: churnRows(n).flatMap(churnColumns) }));
  const result = await page.evaluate(
    async ({ batches, blocks, calls, models, warmup: WARMUP_MS }) => {
      // the collector's API from the page's server: /{model}.json, /{sha256}.onnx
      const local = (url: string) => {
        const u = new URL(url);
        return u.pathname === "/v1/assignment" ? `/${u.searchParams.get("model")}.json` : `/${u.pathname.split("/").pop()}.onnx`;
      };
      const transport = {
        fetch: async (url: string, init: RequestInit) => (url.includes("/v1/reports") ? new Response('{"accepted":1,"rejected":[]}') : fetch(local(url), { ...init, body: undefined })),
        beacon: () => true,
      };
      // idle time under the benchmark's control: it comes between blocks, or when a block drains
      const idle = new Set<() => void>();
      const drain = () => {
        for (const fn of idle) fn();
        idle.clear();
      };
      const clock = { now: Date.now, setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms), clearTimeout: (t: unknown) => clearTimeout(t as number), idle: (fn: () => void) => void idle.add(fn) };
      const ort = (await window.importModule("/ort/ort.wasm.min.mjs")) as typeof import("onnxruntime-web");
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
      const plans = ["basic", "pro", "enterprise"];
      const out: Record<string, unknown> = { crossOriginIsolated, userAgent: navigator.userAgent };
      let sink = 0;
      for (const model of models) {
        const rt = await window.Driftline.createRuntime({ collector: location.origin, key: "k", model: model.name, ortUrl: "/ort/", backend: "wasm", transport, cache: false, clock });
        const bytes = new Uint8Array(await (await fetch(`/${model.sha}.onnx`)).arrayBuffer());
        const session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
        const results: Record<string, unknown> = {};
        for (const { n, rows, columns } of batches) {
          const flat = Float32Array.from(columns);
          const loops = {
            bare: async () => {
              for (let i = 0; i < calls; i++) await session.run({ features: new ort.Tensor("float32", flat, [n, 6]) });
            },
            bareAgain: () => loops.bare(),
            predict: async () => {
              if (n === 1) for (let i = 0; i < calls; i++) await rt.predict(rows[0]!);
              else for (let i = 0; i < calls; i++) await rt.predict(rows);
            },
            drained: async () => {
              await loops.predict();
              drain();
            },
            hand: async () => {
              for (let i = 0; i < calls; i++) {
                const data = new Float32Array(n * 6);
                for (let r = 0; r < n; r++) {
                  const row = rows[r]!;
                  const at = r * 6;
                  data[at] = row.tenure;
                  data[at + 1] = row.charges;
                  data[at + 2] = row.age;
                  data[at + 3 + plans.indexOf(row.plan)] = 1;
                }
                const p = (await session.run({ features: new ort.Tensor("float32", data, [n, 6]) })).probabilities!.data as Float32Array;
                for (let r = 0; r < n; r++) {
                  const a = p[r * 3]!, b = p[r * 3 + 1]!, c = p[r * 3 + 2]!;
                  sink += a >= b && a >= c ? a : b >= c ? 1 + b : 2 + c;
                }
              }
            },
          };
          const names = Object.keys(loops) as Array<keyof typeof loops>;
          const times = Object.fromEntries(names.map((k) => [k, [] as number[]])) as Record<keyof typeof loops, number[]>;
          // steady state: the engine tiers ORT's wasm up in the background for seconds after load
          for (const end = performance.now() + WARMUP_MS; performance.now() < end; ) for (const k of names) await loops[k]();
          for (let b = 0; b < blocks; b++) {
            for (let j = 0; j < names.length; j++) {
              const name = names[(b + j) % names.length]!;
              drain(); // the idle time between blocks
              await new Promise((resolve) => setTimeout(resolve, 0));
              const t = performance.now();
              await loops[name]();
              times[name].push((performance.now() - t) / calls);
            }
          }
          const m = Object.fromEntries(names.map((k) => [k, median(times[k])])) as Record<keyof typeof loops, number>;
          results[`batch${n}`] = {
            bareMs: +m.bare.toFixed(5),
            predictMs: +m.predict.toFixed(5),
            predictDrainedMs: +m.drained.toFixed(5),
            handWrittenMs: +m.hand.toFixed(5),
            latencyRatio: +(m.predict / m.bare).toFixed(3),
            throughputRatio: +(m.drained / m.bare).toFixed(3),
            vsHandWritten: +(m.predict / m.hand).toFixed(3),
            noiseRatio: +(m.bareAgain / m.bare).toFixed(3),
          };
        }
        out[model.name] = results;
        await rt.close();
        await session.release();
      }
      out.sink = sink > 0;
      return out;
    },
    { batches, blocks: BLOCKS, calls: CALLS, models, warmup: WARMUP_MS },
  );
  console.log(JSON.stringify({ bench: "runtime predict() vs bare session.run", backend: "wasm", sampleRate: 1, blocks: BLOCKS, callsPerBlock: CALLS, ...result }));
} finally {
  await browser.close();
  await server.stop();
}
