// A simulated fleet: N clients, each a real runtime (createRuntime in Node, cache off) predicting
// rows replayed from demo/data/live.csv and reporting sketches to the collector. Clients on app
// version 4.3 have a "bug" that feeds mean_radius in different units and shifts texture, so drift
// shows on the dashboard within a minute, sliced by segment. A share of predictions gets its true
// label through feedback(), so the collector also sees a confusion matrix.
//
// Run from the project root: npm run simulate -- --url http://127.0.0.1:8787 --key ing_… [--clients 12] [--rate 4]
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { type Transport, createRuntime } from "../runtime/index.ts";

const USAGE = `npm run simulate -- --key ing_… [--url URL] [--model cancer] [--clients 12] [--rate 4] [--report-seconds 5] [--data demo/data/live.csv]

A fleet of real runtimes (Node, cache off) replaying held-out patients. Every third client runs
app version 4.3, whose "bug" feeds mean_radius in other units and shifts texture: drift shows
in that segment within a minute. 30% of predictions get their true label through feedback().`;

const { values } = parseArgs({
  options: {
    help: { type: "boolean", short: "h" },
    url: { type: "string", default: process.env.DRIFTLINE_URL ?? "http://127.0.0.1:8787" },
    key: { type: "string", default: process.env.DRIFTLINE_INGEST_KEY },
    model: { type: "string", default: "cancer" },
    clients: { type: "string", default: "12" },
    rate: { type: "string", default: "4" },
    "report-seconds": { type: "string", default: "5" },
    data: { type: "string", default: "demo/data/live.csv" },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (!values.key) {
  console.error("simulator: pass --key with an ingest key (npm start prints one) or set DRIFTLINE_INGEST_KEY");
  process.exit(2);
}
const clients = Number(values.clients);
const rate = Number(values.rate);
if (!(clients >= 1 && clients <= 500) || !(rate > 0 && rate <= 1000)) {
  console.error("simulator: --clients must be 1–500 and --rate (predictions per second per client) in (0, 1000]");
  process.exit(2);
}

/** The held-out rows and their diagnoses. */
function loadLiveRows(): Array<{ row: Record<string, number>; label: string }> {
  const [header, ...lines] = readFileSync(values.data!, "utf8").trim().split("\n");
  const names = header!.split(",");
  return lines.map((line) => {
    const cells = line.split(",");
    const row: Record<string, number> = {};
    names.forEach((name, i) => {
      if (name !== "diagnosis") row[name] = Number(cells[i]);
    });
    return { row, label: cells[names.indexOf("diagnosis")]! };
  });
}

const live = loadLiveRows();
const COUNTRIES = ["US", "DE", "IN", "BR"];
let seed = 42;
const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;

/** One row as client `i` sees it: a little noise, and the 4.3 bug. */
function sample(buggy: boolean): { row: Record<string, number>; label: string } {
  const picked = live[Math.floor(random() * live.length)]!;
  const row: Record<string, number> = {};
  for (const [name, value] of Object.entries(picked.row)) row[name] = value * (1 + (random() - 0.5) * 0.04);
  if (buggy) {
    row.mean_radius = row.mean_radius! * 1.45;
    row.mean_texture = row.mean_texture! + 6;
    row.worst_texture = row.worst_texture! + 8;
  }
  return { row, label: picked.label };
}

/**
 * HTTP as if client `i` sent from its own address (198.18.0.0/15, the range set aside for
 * benchmarks): the collector judges drift with each sender's share trimmed (docs/security.md),
 * so a fleet simulated from one machine must not look like one sender. `wrangler dev` keeps a
 * CF-Connecting-IP the client sends; Cloudflare overwrites it.
 */
function fromAddress(i: number): Transport {
  const address = `198.18.${i >> 8}.${i & 255}`;
  return {
    fetch: (url, init) => {
      const headers = new Headers(init.headers);
      headers.set("CF-Connecting-IP", address);
      return fetch(url, { ...init, headers });
    },
    // Node has no sendBeacon: reports go out with fetch
    beacon: () => false,
  };
}

const runtimes = await Promise.all(
  Array.from({ length: clients }, async (_, i) => {
    const appVersion = i % 3 === 2 ? "4.3" : "4.2";
    const runtime = await createRuntime({
      collector: values.url!,
      key: values.key!,
      model: values.model!,
      client: `sim-${i}`,
      segment: { appVersion, country: COUNTRIES[i % COUNTRIES.length]! },
      backend: "wasm",
      reportIntervalMs: Number(values["report-seconds"]) * 1000,
      transport: fromAddress(i),
    });
    runtime.on("error", (err) => console.error(`simulator: client sim-${i}: ${err.code}: ${err.message}`));
    runtime.on("update", (change) => console.log(`simulator: client sim-${i} updated ${change.from} → ${change.to}`));
    runtime.on("rollback", (change) => console.log(`simulator: client sim-${i} rolled back ${change.from} → ${change.to}`));
    return { runtime, buggy: appVersion === "4.3" };
  }),
);
console.log(`simulator: ${clients} clients predicting ${rate}/s each against ${values.url} (model ${values.model})`);

let predicted = 0;
let stopping = false;
const timers = runtimes.map(({ runtime, buggy }) =>
  setInterval(async () => {
    if (stopping) return;
    const { row, label } = sample(buggy);
    try {
      const out = await runtime.predict(row);
      predicted++;
      if (random() < 0.3) runtime.feedback(out.id, label);
    } catch (err) {
      console.error(`simulator: predict failed: ${err instanceof Error ? err.message : err}`);
    }
  }, 1000 / rate),
);
const progress = setInterval(() => console.log(`simulator: ${predicted} predictions so far`), 30_000);

async function stop() {
  if (stopping) return;
  stopping = true;
  timers.forEach(clearInterval);
  clearInterval(progress);
  await Promise.allSettled(
    runtimes.map(async ({ runtime }) => {
      await runtime.flush();
      await runtime.close();
    }),
  );
  console.log(`simulator: stopped after ${predicted} predictions`);
  process.exit(0);
}
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
