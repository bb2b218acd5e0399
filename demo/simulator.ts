// The demo fleet: real runtimes in Node (createRuntime, cache off), one per simulated client,
// replaying two public datasets once each, in time order, and reporting sketches to the collector
// (docs/demo.md). Each row goes to one client of its airport's US census region, is predicted once,
// and its true label comes back through feedback() when it is known on the device (a flight lands,
// a strike is inspected). Time is compressed on a virtual clock (the runtime's Clock seam), so the
// collector files each data period in its own window.
//
// Run from the project root: npm run simulate -- --url http://127.0.0.1:8787 --key ing_…
import { parseArgs } from "node:util";
import { type Clock, type Runtime, type Transport, createRuntime } from "../runtime/index.ts";
import { type Event, readBirdstrikes, readFlights } from "./data.ts";

const USAGE = `npm run simulate -- --key ing_… [--url URL] [--speed 15] [--flights-sample 100]
                      [--clients-per-region 3] [--report-seconds 30] [--scenario app-4.3-bug]

Replays, once and in time order, the FAA wildlife-strike reports 1990–2002 (model
birdstrike-damage, one data-year per virtual minute) and one flight in every --flights-sample of
the 3 million US flights of January–June 2001 (model flight-delay, one data-month per two virtual
minutes). The virtual clock runs --speed times faster than the wall clock and ends in the past,
at most the current minute, so each year or month lands in whole minute windows of its own.
Clients: --clients-per-region per US census region and model, every third on app version 4.3.
--scenario app-4.3-bug: clients on 4.3 send distances in km and speeds in km/h.`;

const { values } = parseArgs({
  options: {
    help: { type: "boolean", short: "h" },
    url: { type: "string", default: process.env.DRIFTLINE_URL ?? "http://127.0.0.1:8787" },
    key: { type: "string", default: process.env.DRIFTLINE_INGEST_KEY },
    speed: { type: "string", default: "15" },
    "flights-sample": { type: "string", default: "100" },
    "clients-per-region": { type: "string", default: "3" },
    "report-seconds": { type: "string", default: "30" },
    scenario: { type: "string" },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const speed = Number(values.speed);
const sample = Number(values["flights-sample"]);
const perRegion = Number(values["clients-per-region"]);
const reportMs = Number(values["report-seconds"]) * 1000;
const bug = values.scenario === "app-4.3-bug";
if (!values.key) fail("pass --key with an ingest key (npm start prints one) or set DRIFTLINE_INGEST_KEY");
if (!(speed >= 1 && speed <= 120)) fail("--speed must be 1–120 (virtual minutes per wall minute)");
if (!(Number.isInteger(sample) && sample >= 1)) fail("--flights-sample must be a whole number ≥ 1 (1: every flight)");
if (!(Number.isInteger(perRegion) && perRegion >= 1 && perRegion <= 20)) fail("--clients-per-region must be 1–20");
if (!(reportMs >= 1000 && 60_000 % reportMs === 0)) fail("--report-seconds must divide 60 (virtual seconds: reports are cut on whole minutes)");
if (values.scenario !== undefined && !bug) fail(`unknown --scenario "${values.scenario}" (there is one: app-4.3-bug)`);

/** Ends the simulator with one line on stderr: exit code 2 for a usage mistake, 1 for a failure. */
function fail(message: string, code = 2): never {
  console.error(`simulator: ${message}`);
  process.exit(code);
}

/**
 * Asks the collector for each demo model's assignment with the key, before the data is read: a
 * wrong URL, a refused key or a model not published fails at once, in one line.
 */
async function checkCollector(url: string, key: string, models: readonly string[]): Promise<void> {
  if (!/^https?:\/\//i.test(url) || !URL.canParse(url)) fail(`--url "${url}" is not an http:// or https:// URL, e.g. http://127.0.0.1:8787`);
  for (const model of models) {
    const res = await fetch(`${url.replace(/\/+$/, "")}/v1/assignment?model=${encodeURIComponent(model)}&client=sim-check`, { headers: { authorization: `Bearer ${key}` } }).catch((err: Error) =>
      fail(`the collector at ${url} does not answer (${(err.cause as { code?: string })?.code ?? err.message}); npm start runs one`, 1),
    );
    if (res.ok) continue;
    const message = ((await res.json().catch(() => undefined)) as { error?: { message?: string } } | undefined)?.error?.message ?? res.statusText;
    if (res.status === 401 || res.status === 403) fail(`the collector refused the key (${res.status} ${message}): pass the demo's ingest key, which npm start prints`, 1);
    fail(`the collector cannot serve ${model} (${res.status} ${message}); npm start publishes the demo models`, 1);
  }
}

/** The demo's two models, as npm start publishes them. */
const STRIKES = "birdstrike-damage";
const FLIGHTS = "flight-delay";
await checkCollector(values.url!, values.key!, [STRIKES, FLIGHTS]);

const REGIONS = ["Northeast", "Midwest", "South", "West", "other"];
const MINUTE = 60_000;

/** A model's replay: its rows in time order and the data periods each filling whole virtual minutes. */
interface Replay {
  model: string;
  events: Event[];
  /** Period starts (data time, epoch ms), and the end of the last one. */
  bounds: number[];
  /** Virtual minutes per period. */
  minutes: number;
  /** The period's name, e.g. 1994 or 2001-03. */
  name: (start: number) => string;
  /** The 4.3 bug of the opt-in scenario. */
  buggy: (row: Event["row"]) => Event["row"];
}

const utc = (y: number, m = 0) => Date.UTC(y, m, 1);
const years = Array.from({ length: 14 }, (_, i) => utc(1990 + i));
const months = Array.from({ length: 7 }, (_, i) => utc(2001, i));
const loading = Date.now();
const replays: Replay[] = [
  {
    model: STRIKES,
    events: readBirdstrikes(),
    bounds: years,
    minutes: 1,
    name: (t) => String(new Date(t).getUTCFullYear()),
    buggy: (row) => ({ ...row, "Speed IAS in knots": typeof row["Speed IAS in knots"] === "number" ? row["Speed IAS in knots"] * 1.852 : null }),
  },
  {
    model: FLIGHTS,
    events: await readFlights((i) => i % sample === 0),
    bounds: months,
    minutes: 2,
    name: (t) => new Date(t).toISOString().slice(0, 7),
    buggy: (row) => ({ ...row, distance: (row.distance as number) * 1.609 }),
  },
];
console.log(`simulator: read ${replays.map((r) => `${r.events.length} ${r.model} rows`).join(" and ")} in ${((Date.now() - loading) / 1000).toFixed(1)} s`);

// The virtual clock: starts on a whole minute, runs `speed` times the wall clock, and ends no later
// than the wall clock does (the collector refuses reports from the future).
const virtualMinutes = Math.max(...replays.map((r) => (r.bounds.length - 1) * r.minutes));
const virtualStart = Math.floor((Date.now() - virtualMinutes * MINUTE * (1 - 1 / speed)) / MINUTE) * MINUTE;
/** Wall time the replay started; until then (the runtimes loading) the virtual clock stands still. */
let wallStart: number | undefined;
const virtualNow = () => (wallStart === undefined ? virtualStart : virtualStart + (Date.now() - wallStart) * speed);
const clock: Clock = {
  now: virtualNow,
  setTimeout: (fn, ms) => setTimeout(fn, ms / speed),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Virtual time of data time `t` of a replay: each period spread evenly over its minutes. */
function virtualTime(r: Replay, t: number): number {
  const last = r.bounds.length - 1;
  let p = 0;
  while (p < last - 1 && t >= r.bounds[p + 1]!) p++;
  const share = Math.min(1, Math.max(0, (t - r.bounds[p]!) / (r.bounds[p + 1]! - r.bounds[p]!)));
  return virtualStart + (p + share) * r.minutes * MINUTE;
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

interface Client {
  runtime: Runtime;
  appVersion: string;
  /** Rows due for prediction this tick. */
  due: Event[];
}

let address = 0;
const fleets = await Promise.all(
  replays.map(async (r) => {
    const byRegion = new Map<string, Client[]>();
    for (const region of REGIONS) {
      const clients = await Promise.all(
        Array.from({ length: perRegion }, async (_, k): Promise<Client> => {
          const i = address++;
          const appVersion = k % 3 === 2 ? "4.3" : "4.2";
          const runtime = await createRuntime({
            collector: values.url!,
            key: values.key!,
            model: r.model,
            client: `sim-${r.model}-${region}-${k}`,
            segment: { region, appVersion },
            backend: "wasm",
            // the replay cuts reports itself, in step with the rows (see replay)
            reportIntervalMs: 24 * 60 * MINUTE,
            transport: fromAddress(i),
            clock,
          });
          runtime.on("error", (err) => console.error(`simulator: ${r.model} client ${region}-${k}: ${err.code}: ${err.message}`));
          runtime.on("update", (c) => console.log(`simulator: ${r.model} client ${region}-${k} updated v${c.from} → v${c.to}`));
          runtime.on("rollback", (c) => console.log(`simulator: ${r.model} client ${region}-${k} rolled back v${c.from} → v${c.to}`));
          return { runtime, appVersion, due: [] };
        }),
      );
      byRegion.set(region, clients);
    }
    return byRegion;
  }),
);
const everyClient = fleets.flatMap((f) => [...f.values()].flat());
console.log(
  `simulator: ${everyClient.length} clients (${perRegion} per region and model) against ${values.url}; virtual clock ${speed}× from ${new Date(virtualStart).toISOString()}${bug ? "; scenario app-4.3-bug" : ""}`,
);

/** Labels waiting for their time, per replay, in label-time order. */
interface Pending {
  at: number;
  runtime: Runtime;
  id: string;
  label: string;
}

let stopping = false;
let predicted = 0;
let labelled = 0;

/**
 * Replays one model: predicts each row once when the virtual clock reaches it, feeds each label
 * back when it is known, and cuts every client's report each `--report-seconds` of virtual time
 * (the runtimes' own report timers are set beyond the replay), so reports are cut in step with
 * the rows: a report never holds rows of two periods, nor rows of a minute other than its own
 * but for the ones of one 50 ms tick.
 */
async function replay(r: Replay, fleet: Map<string, Client[]>): Promise<void> {
  const clients = [...fleet.values()].flat();
  const pending: Pending[] = [];
  const positive = r.model === "flight-delay" ? "late" : "damage";
  const periods = r.bounds.length - 1;
  const periodEnd = (p: number) => virtualStart + (p + 1) * r.minutes * MINUTE;
  let next = 0;
  let period = 0;
  let nextCut = virtualStart + reportMs;
  let tally = { rows: 0, positive: 0, correct: 0 };
  while (!stopping && period < periods) {
    const now = virtualNow();
    const cutAt = Math.min(nextCut, periodEnd(period));
    const until = Math.min(now, cutAt);
    // this period's rows due by then, each to a client of its region
    while (next < r.events.length && r.events[next]!.at < r.bounds[period + 1]! && virtualTime(r, r.events[next]!.at) <= until) {
      const e = r.events[next]!;
      const regionClients = fleet.get(e.region)!;
      regionClients[next % regionClients.length]!.due.push(e);
      next++;
    }
    await Promise.all(
      clients.map(async (c) => {
        if (c.due.length === 0) return;
        const batch = c.due;
        c.due = [];
        const rows = batch.map((e) => (bug && c.appVersion === "4.3" ? r.buggy(e.row) : e.row));
        try {
          const out = await c.runtime.predict(rows);
          out.forEach((p, j) => {
            const e = batch[j]!;
            pending.push({ at: virtualTime(r, e.labelAt), runtime: c.runtime, id: p.id, label: e.label });
            tally.rows++;
            if (e.label === positive) tally.positive++;
            if (p.label === e.label) tally.correct++;
          });
          predicted += batch.length;
        } catch (err) {
          console.error(`simulator: ${r.model}: predict failed: ${err instanceof Error ? err.message : err}`);
        }
      }),
    );
    // labels whose time has come, on the device that predicted them
    pending.sort((a, b) => a.at - b.at);
    let done = 0;
    while (done < pending.length && pending[done]!.at <= until) {
      const p = pending[done++]!;
      if (await p.runtime.feedback(p.id, p.label)) labelled++;
    }
    pending.splice(0, done);
    if (now < cutAt) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      continue;
    }
    await Promise.all(clients.map((c) => c.runtime.flush()));
    nextCut = cutAt + reportMs;
    if (cutAt === periodEnd(period)) {
      const { rows, positive: late, correct } = tally;
      const line = {
        model: r.model,
        period: r.name(r.bounds[period]!),
        from: periodEnd(period) - r.minutes * MINUTE,
        to: cutAt,
        rows,
        positiveShare: rows ? late / rows : null,
        accuracy: rows ? correct / rows : null,
      };
      console.log(`simulator: period ${JSON.stringify(line)}`);
      period++;
      tally = { rows: 0, positive: 0, correct: 0 };
    }
  }
}

const progress = setInterval(() => console.log(`simulator: ${predicted} predictions, ${labelled} labels so far`), 30_000);
wallStart = Date.now();

let stopped: Promise<never> | undefined;
/** Flushes and closes every runtime, says what was replayed, and exits (once). */
function stop(how: string): Promise<never> {
  stopping = true;
  stopped ??= finish(how);
  return stopped;
}

async function finish(how: string): Promise<never> {
  clearInterval(progress);
  await Promise.allSettled(
    everyClient.map(async ({ runtime }) => {
      await runtime.flush();
      await runtime.close();
    }),
  );
  console.log(`simulator: ${how} ${predicted} predictions (each row once), ${labelled} labels, in ${((Date.now() - wallStart!) / 1000).toFixed(1)} s`);
  process.exit(0);
}
process.on("SIGINT", () => void stop("stopped after"));
process.on("SIGTERM", () => void stop("stopped after"));
await Promise.all(replays.map((r, i) => replay(r, fleets[i]!)));
await stop("replayed");
