// Benchmark: the runtime's predict() against bare onnxruntime-web session.run on the same tabular
// model in the same page (headless Chromium, wasm backend, sample rate 1), batch 1 and 64.
//
// Run:   npx tsx test/bench/runtime/predict-overhead.ts
// Prints one JSON object: per batch size the median milliseconds per call of each (medians of
// blocks of calls, blocks interleaved) and the overhead ratio predict / session.run (target ≤ 1.03).
// Not a test: never run by vitest. The collector's HTTP API is answered in the page from memory
// (the benchmark measures predict(), not start-up).
import "../../browser/harness/page-globals.ts";
import { launchBrowser } from "../../browser/harness/browser.ts";
import { openRuntimePage, startRuntimeServer } from "../../browser/harness/runtime-page.ts";
import { churnColumns, churnModel, churnRows } from "../../fixtures/runtime-models.ts";

const BLOCKS = Number(process.env.BLOCKS ?? 41);
const CALLS = Number(process.env.CALLS ?? 200);

const model = churnModel("bench");
const server = await startRuntimeServer();
server.set("/model.onnx", model.bytes);
const { profile: _profile, ...clientManifest } = model.manifest;
server.set("/assignment.json", JSON.stringify({ model: "bench", version: 1, manifest: { ...clientManifest, version: 1 }, sampleRate: 1, configVersion: 1 }));
const browser = await launchBrowser();
try {
  const page = await browser.context.newPage();
  // tsx compiles with keepNames: functions sent to the page call its `__name` helper
  await page.addInitScript({ content: "window.__name = (f) => f;" });
  await openRuntimePage(page, server);
  const batches = [1, 64].map((n) => ({ n, rows: churnRows(n), columns: churnRows(n).flatMap(churnColumns) }));
  const result = await page.evaluate(
    async ({ batches, blocks, calls, sha }) => {
      const transport = {
        fetch: (url: string, init: RequestInit) =>
          fetch(url.includes("/v1/assignment") ? "/assignment.json" : url.includes(`/v1/artifacts/${sha}`) ? "/model.onnx" : url, { ...init, method: url.includes("/v1/reports") ? "GET" : init.method, body: undefined }).then((r) =>
            url.includes("/v1/reports") ? new Response('{"accepted":1,"rejected":[]}') : r,
          ),
        beacon: () => true,
      };
      const rt = await window.Driftline.createRuntime({ collector: location.origin, key: "k", model: "bench", ortUrl: "/ort/", backend: "wasm", transport, cache: false });
      const ort = (await import("/ort/ort.wasm.min.mjs" as string)) as typeof import("onnxruntime-web");
      const bytes = new Uint8Array(await (await fetch("/model.onnx")).arrayBuffer());
      const session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
      const out: Record<string, unknown> = { crossOriginIsolated, userAgent: navigator.userAgent };
      for (const { n, rows, columns } of batches) {
        const flat = Float32Array.from(columns);
        const bare = async () => {
          for (let i = 0; i < calls; i++) await session.run({ features: new ort.Tensor("float32", flat, [n, 6]) });
        };
        const ours = async () => {
          if (n === 1) for (let i = 0; i < calls; i++) await rt.predict(rows[0]!);
          else for (let i = 0; i < calls; i++) await rt.predict(rows);
        };
        const times = { bare: [] as number[], predict: [] as number[] };
        await bare();
        await ours();
        for (let b = 0; b < blocks; b++) {
          for (const [name, fn] of b % 2 ? ([["bare", bare], ["predict", ours]] as const) : ([["predict", ours], ["bare", bare]] as const)) {
            const t = performance.now();
            await fn();
            times[name].push((performance.now() - t) / calls);
          }
        }
        const mb = median(times.bare);
        const mp = median(times.predict);
        out[`batch${n}`] = { bareMs: +mb.toFixed(5), predictMs: +mp.toFixed(5), ratio: +(mp / mb).toFixed(3) };
      }
      await rt.close();
      return out;
    },
    { batches, blocks: BLOCKS, calls: CALLS, sha: model.manifest.sha256 },
  );
  console.log(JSON.stringify({ bench: "runtime predict() vs bare session.run", backend: "wasm", sampleRate: 1, blocks: BLOCKS, callsPerBlock: CALLS, ...result }));
} finally {
  await browser.close();
  await server.stop();
}
