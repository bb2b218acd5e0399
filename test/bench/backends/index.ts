// Benchmark: WASM against WebGPU through the runtime, for conv nets of about 1, 5 and 25 M
// parameters (test/fixtures/conv-nets.ts) at batch 1 and 8, in headless Chromium; and which
// backend `auto` picks for each model. Here WebGPU is SwiftShader, Chromium's software adapter on
// the CPU, so its timings say nothing of a GPU: on this machine the figures show that both
// backends run the same models and agree (max abs difference of the probabilities, ≤ 1e-4), and
// the WebGPU/WASM ratios are to be measured again on a machine with a GPU.
//
// Run:   npm run bench -- backends   (SIZE=… input side, RUNS=… timed runs, WARMUP=… runs, WIDTHS=…)
// Per model and backend: createRuntime({ backend }) on the model served as the collector would
// (test/browser/harness/local-collector.ts), then per batch size WARMUP untimed runs and RUNS timed
// rt.run({ image }) calls with a prebuilt float32 tensor [batch, 3, SIZE, SIZE]: median and max ms,
// WebGPU/WASM ratio of the medians. `auto` starts a third runtime with the defaults (no choice
// remembered: cache off); its name, reason and start time are reported (it times warm-up runs on
// zero feeds on both backends: runtime/backend.ts).
// Prints one JSON object; progress goes to stderr.
import "../../browser/harness/page-globals.ts";
import { createHash } from "node:crypto";
import { cpus, totalmem } from "node:os";
import { launchBrowser } from "../../browser/harness/browser.ts";
import { openRuntimePage, startRuntimeServer } from "../../browser/harness/runtime-page.ts";
import { LOCAL_COLLECTOR_SCRIPT, serveModel } from "../../browser/harness/local-collector.ts";
import { CONV_NET_CLASSES, convNet } from "../../fixtures/conv-nets.ts";

// 32: on SwiftShader one run of the 25 M net at batch 8 took 67 s at 64×64 (0.91 G multiply-adds
// per image; 224×224 would be 11.2 G), over the ~1 min a run this bench allows itself; at 32×32
// it took 18–31 s (medians of three runs) and the whole bench about 5½ minutes on a 2-core
// machine. WASM took 0.70 s at 64×64, 0.36–0.44 s at 32×32.
const SIZE = Number(process.env.SIZE ?? 32);
const RUNS = Number(process.env.RUNS ?? 5);
const WARMUP = Number(process.env.WARMUP ?? 1);
const BATCHES = [1, 8];
/**
 * Width of the first convolution → about 1, 5 and 25 M parameters (378·w² + 122·w + 10). Multiples
 * of 4, as real nets' channels are. WIDTHS=51,… runs nets of those widths instead (named w51 …):
 * with 51 (a Conv of 102 input channels) onnxruntime-web 1.30's WebGPU Conv answers wrongly on
 * SwiftShader, and the bench says so and fails (README "Backends").
 */
const WIDTHS: Record<string, number> = process.env.WIDTHS ? Object.fromEntries(process.env.WIDTHS.split(",").map((w) => [`w${w}`, Number(w)])) : { "1M": 52, "5M": 116, "25M": 256 };
const TOLERANCE = 1e-4;

type Backend = "wasm" | "webgpu";
const log = (line: string) => process.stderr.write(`backends: ${line}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const round = (x: number, digits = 1) => +x.toFixed(digits);

const server = await startRuntimeServer();
const models = Object.entries(WIDTHS).map(([name, width]) => {
  const net = convNet(width, SIZE);
  const sha256 = createHash("sha256").update(net.bytes).digest("hex");
  const manifest = {
    format: 1,
    model: name,
    sha256,
    size: net.bytes.length,
    inputs: [{ name: "image", dtype: "float32", shape: ["batch", 3, SIZE, SIZE] }],
    features: [],
    outputs: [{ name: "probabilities", kind: "probabilities", labels: Array.from({ length: CONV_NET_CLASSES }, (_, k) => `c${k}`) }],
  };
  serveModel(server, name, manifest, net.bytes);
  log(
    `${name}: width ${width}, channels ${net.channels.join("/")}, ${net.parameters.toLocaleString("en")} parameters, ${(net.bytes.length / 1e6).toFixed(1)} MB, ${(net.macsPerImage / 1e9).toFixed(3)} G multiply-adds per ${SIZE}×${SIZE} image`,
  );
  return { name, width, parameters: net.parameters, bytes: net.bytes.length, macsPerImage: net.macsPerImage, channels: net.channels };
});

const browser = await launchBrowser({ webgpu: true });
try {
  const page = await browser.context.newPage();
  await page.addInitScript({ content: LOCAL_COLLECTOR_SCRIPT });
  await openRuntimePage(page, server);
  const browserFacts = await page.evaluate(async () => {
    type Adapter = { isFallbackAdapter?: boolean; info?: { vendor: string; architecture: string; device: string; description: string } };
    const adapter = await (navigator as unknown as { gpu?: { requestAdapter(): Promise<Adapter | null> } }).gpu?.requestAdapter();
    const info = adapter?.info;
    return {
      userAgent: navigator.userAgent,
      hardwareConcurrency: navigator.hardwareConcurrency,
      crossOriginIsolated,
      // onnxruntime-web's default (the runtime leaves env.wasm.numThreads alone)
      wasmThreads: crossOriginIsolated ? Math.min(4, Math.ceil(navigator.hardwareConcurrency / 2)) : 1,
      webgpuAdapter: adapter ? { vendor: info?.vendor, architecture: info?.architecture, device: info?.device, description: info?.description, isFallbackAdapter: adapter.isFallbackAdapter } : null,
    };
  });
  log(`WebGPU adapter: ${JSON.stringify(browserFacts.webgpuAdapter)}`);

  /** One runtime on `backend`: its start, then per batch size the warm-up and timed runs. */
  const timeBackend = (model: string, backend: Backend | "auto", batches: number[]) =>
    page.evaluate(
      async ({ model, backend, batches, size, runs, warmup }) => {
        const t0 = performance.now();
        // explicit backends: one untimed warm-up run in createRuntime; auto: its defaults (five timed per backend)
        const rt = await window.Driftline.createRuntime({
          collector: location.origin,
          key: "k",
          model,
          ortUrl: "/ort/",
          backend,
          transport: window.bench.transport,
          cache: false,
          ...(backend === "auto" ? {} : { warmupRuns: 0 }),
        });
        const createMs = performance.now() - t0;
        const perBatch: Record<string, { times: number[]; probabilities: number[] }> = {};
        for (const n of batches) {
          // the same pseudo-random image on every backend
          const data = Float32Array.from({ length: n * 3 * size * size }, (_, i) => 0.5 + 0.5 * Math.sin(i * 12.9898 + 78.233));
          const feeds = { image: { type: "float32" as const, data, dims: [n, 3, size, size] } };
          for (let i = 0; i < warmup; i++) await rt.run(feeds);
          const times: number[] = [];
          let probabilities: number[] = [];
          for (let i = 0; i < runs; i++) {
            const t = performance.now();
            const out = await rt.run(feeds);
            times.push(performance.now() - t);
            probabilities = Array.from(out.outputs.probabilities!.data as Float32Array);
          }
          perBatch[n] = { times, probabilities };
        }
        const chosen = rt.backend;
        await rt.close();
        return { createMs, backend: chosen, perBatch };
      },
      { model, backend, batches, size: SIZE, runs: RUNS, warmup: WARMUP },
    );

  const results: Record<string, unknown> = {};
  let worstDiff = 0;
  for (const m of models) {
    const measured = {} as Record<Backend, Awaited<ReturnType<typeof timeBackend>>>;
    for (const backend of ["wasm", "webgpu"] as const) {
      measured[backend] = await timeBackend(m.name, backend, BATCHES);
      const got = measured[backend].backend;
      if (got.name !== backend) throw new Error(`${m.name}: asked for ${backend}, got ${got.name} (${got.reason})`);
      for (const n of BATCHES)
        log(`${m.name} ${backend} batch ${n}: median ${median(measured[backend].perBatch[n]!.times).toFixed(1)} ms, max ${Math.max(...measured[backend].perBatch[n]!.times).toFixed(1)} ms`);
    }
    const auto = await timeBackend(m.name, "auto", []);
    log(`${m.name} auto: ${auto.backend.name} (${auto.backend.reason}), started in ${auto.createMs.toFixed(0)} ms`);
    const perBatch = Object.fromEntries(
      BATCHES.map((n) => {
        const [wasm, webgpu] = [measured.wasm.perBatch[n]!, measured.webgpu.perBatch[n]!];
        const maxAbsDiff = Math.max(...wasm.probabilities.map((p, i) => Math.abs(p - webgpu.probabilities[i]!)));
        worstDiff = Math.max(worstDiff, maxAbsDiff);
        const stats = (times: number[]) => ({ medianMs: round(median(times)), maxMs: round(Math.max(...times)) });
        const [w, g] = [stats(wasm.times), stats(webgpu.times)];
        log(
          `${m.name} batch ${n}: WebGPU/WASM ${(median(webgpu.times) / median(wasm.times)).toFixed(2)}, max abs difference ${maxAbsDiff.toExponential(2)}, top probability ${Math.max(...wasm.probabilities).toFixed(3)}`,
        );
        return [
          `batch${n}`,
          { wasm: w, webgpu: g, webgpuOverWasm: round(g.medianMs / w.medianMs, 2), maxAbsDiff: +maxAbsDiff.toExponential(2), topProbability: round(Math.max(...wasm.probabilities), 3) },
        ];
      }),
    );
    results[m.name] = {
      width: m.width,
      channels: m.channels,
      parameters: m.parameters,
      megabytes: round(m.bytes / 1e6),
      gigaMacsPerImage: round(m.macsPerImage / 1e9, 3),
      ...perBatch,
      startMs: { wasm: round(measured.wasm.createMs, 0), webgpu: round(measured.webgpu.createMs, 0), auto: round(auto.createMs, 0) },
      auto: auto.backend,
    };
  }
  console.log(
    JSON.stringify({
      bench: "backends",
      note: "WebGPU here is SwiftShader (software, on the CPU): the timings show correctness only; fill the real-GPU figures on a machine with a GPU",
      input: { name: "image", shape: ["batch", 3, SIZE, SIZE], dtype: "float32" },
      runs: RUNS,
      warmup: WARMUP,
      tolerance: TOLERANCE,
      agree: worstDiff <= TOLERANCE,
      maxAbsDiff: +worstDiff.toExponential(2),
      machine: { cpu: cpus()[0]?.model, cores: cpus().length, memoryGB: round(totalmem() / 2 ** 30), node: process.version, ...browserFacts },
      models: results,
    }),
  );
  if (worstDiff > TOLERANCE) {
    log(`WebGPU and WASM disagree: max abs difference ${worstDiff.toExponential(2)} > ${TOLERANCE}`);
    process.exitCode = 1;
  }
} finally {
  await browser.close();
  await server.stop();
}
