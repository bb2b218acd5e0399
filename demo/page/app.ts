// The demo page: embeds the runtime from the collector's /sdk/ (window.Driftline, the IIFE
// build), predicts real records of the demo model chosen (FAA strikes from /demo/birdstrikes.csv,
// US flights from /demo/flights-5k.json, both copied from vega-datasets by the build), and sends
// what really happened back with feedback(). Bundled by scripts/build.mjs into dist/site/demo/app.js.
import Papa from "papaparse";
import type * as DriftlineModule from "../../runtime/index.ts";
import type { DriftlineError, Prediction, Runtime } from "../../runtime/index.ts";
import { type Event, flightEvent, strikeEvent } from "../rows.ts";

declare global {
  interface Window {
    /** What /sdk/driftline.iife.js sets. */
    Driftline: typeof DriftlineModule;
  }
}

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
$<HTMLInputElement>("key").value = params.get("key") ?? localStorage.getItem("driftline-demo-key") ?? "";

let runtime: Runtime;
let model = "";
let records: Event[] = [];
let last: { out: Prediction; label: string };

function log(text: string): void {
  const line = document.createElement("div");
  line.textContent = `${new Date().toLocaleTimeString()}  ${text}`;
  $("log").prepend(line);
}

function showStatus(entries: Record<string, string>): void {
  $("status").replaceChildren(
    ...Object.entries(entries).flatMap(([k, v]) => {
      const dt = document.createElement("dt");
      const dd = document.createElement("dd");
      dt.textContent = k;
      dd.textContent = v;
      return [dt, dd];
    }),
  );
}

/** The chosen model's records (the page has no use for their regions). */
async function loadRecords(name: string): Promise<Event[]> {
  if (name === "flight-delay") {
    const flights = (await (await fetch("/demo/flights-5k.json")).json()) as Array<{ date: string; delay: number; distance: number; origin: string; destination: string }>;
    // "2001/01/01 01:10", local time read as UTC, as the simulator reads the Parquet file
    return flights.map((f) => flightEvent({ ...f, date: new Date(`${f.date.replace(/\//g, "-").replace(" ", "T")}:00Z`) }, ""));
  }
  const parsed = Papa.parse<Record<string, string>>(await (await fetch("/demo/birdstrikes.csv")).text(), { header: true, skipEmptyLines: true });
  return parsed.data.map((r) => strikeEvent(r, ""));
}

/** Row as app 4.3 sends it: distances in km, speeds in km/h (the simulator's opt-in scenario). */
function asApp43(row: Event["row"]): Event["row"] {
  const out = { ...row };
  if (typeof out.distance === "number") out.distance *= 1.609;
  if (typeof out["Speed IAS in knots"] === "number") out["Speed IAS in knots"] *= 1.852;
  return out;
}

$("start").addEventListener("click", async () => {
  const key = $<HTMLInputElement>("key").value.trim();
  if (!key) return log("enter an ingest key first");
  localStorage.setItem("driftline-demo-key", key);
  $<HTMLButtonElement>("start").disabled = true;
  model = $<HTMLSelectElement>("model").value;
  $<HTMLSelectElement>("model").disabled = true;
  showStatus({ state: "loading the model…" });
  try {
    const started = performance.now();
    [runtime, records] = await Promise.all([
      window.Driftline.createRuntime({ collector: location.origin, key, model, segment: { appVersion: "demo-page" }, reportIntervalMs: 10_000 }),
      loadRecords(model),
    ]);
    runtime.on("update", (c) => {
      log(`updated v${c.from} → v${c.to}`);
      refresh();
    });
    runtime.on("rollback", (c) => {
      log(`rolled back v${c.from} → v${c.to}`);
      refresh();
    });
    runtime.on("error", (e) => log(`error ${e.code}: ${e.message}`));
    log(`runtime ready in ${Math.round(performance.now() - started)} ms`);
    refresh();
    for (const id of ["predict", "buggy"]) $<HTMLButtonElement>(id).disabled = false;
  } catch (err) {
    const e = err as DriftlineError;
    showStatus({ state: `failed: ${e.code ?? ""} ${e.message}` });
    $<HTMLButtonElement>("start").disabled = false;
    $<HTMLSelectElement>("model").disabled = false;
  }
});

function refresh(): void {
  showStatus({ state: "running", model, version: `v${runtime.version}`, backend: `${runtime.backend.name} (${runtime.backend.reason})` });
}

async function predict(drifted: boolean): Promise<void> {
  const record = records[Math.floor(Math.random() * records.length)]!;
  const started = performance.now();
  last = { out: await runtime.predict(drifted ? asApp43(record.row) : record.row), label: record.label };
  const ms = (performance.now() - started).toFixed(2);
  $("result").textContent = `${last.out.label} (${((last.out.score ?? 0) * 100).toFixed(1)}%) — v${last.out.version}, ${ms} ms`;
  $("truth").textContent = "";
  $<HTMLButtonElement>("feedback").disabled = false;
}

const failed = (e: Error) => log(`predict failed: ${e.message}`);
$("predict").addEventListener("click", () => predict(false).catch(failed));
$("buggy").addEventListener("click", () => predict(true).catch(failed));
$("feedback").addEventListener("click", async () => {
  await runtime.feedback(last.out.id, last.label);
  $("truth").textContent = `what happened: ${last.label} — joined on this device, reported only as a confusion-matrix cell`;
  $<HTMLButtonElement>("feedback").disabled = true;
});
