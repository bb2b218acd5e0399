// The demo page: embeds the runtime from the collector's /sdk/ (window.Driftline, the IIFE
// build), predicts held-out patients from /demo/live.csv, and sends their true diagnosis back with
// feedback(). Bundled by scripts/build.mjs into dist/site/demo/app.js.
import type * as DriftlineModule from "../../runtime/index.ts";
import type { DriftlineError, Prediction, Runtime } from "../../runtime/index.ts";

declare global {
  interface Window {
    /** What /sdk/driftline.iife.js sets. */
    Driftline: typeof DriftlineModule;
  }
}

interface Patient {
  row: Record<string, number>;
  diagnosis: string;
}

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
$<HTMLInputElement>("key").value = params.get("key") ?? localStorage.getItem("driftline-demo-key") ?? "";

let runtime: Runtime;
let patients: Patient[] = [];
let last: { out: Prediction; diagnosis: string };

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

async function loadPatients(): Promise<Patient[]> {
  const [header = "", ...lines] = (await (await fetch("/demo/live.csv")).text()).trim().split("\n");
  const names = header.split(",");
  return lines.map((line) => {
    const cells = line.split(",");
    const row: Record<string, number> = {};
    names.forEach((name, i) => {
      if (name !== "diagnosis") row[name] = Number(cells[i]);
    });
    return { row, diagnosis: cells[names.indexOf("diagnosis")]! };
  });
}

$("start").addEventListener("click", async () => {
  const key = $<HTMLInputElement>("key").value.trim();
  if (!key) return log("enter an ingest key first");
  localStorage.setItem("driftline-demo-key", key);
  $<HTMLButtonElement>("start").disabled = true;
  showStatus({ state: "loading the model…" });
  try {
    const started = performance.now();
    [runtime, patients] = await Promise.all([
      window.Driftline.createRuntime({ collector: location.origin, key, model: "cancer", segment: { appVersion: "demo-page" }, reportIntervalMs: 10_000 }),
      loadPatients(),
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
  }
});

function refresh(): void {
  showStatus({ state: "running", model: "cancer", version: `v${runtime.version}`, backend: `${runtime.backend.name} (${runtime.backend.reason})` });
}

async function predict(drifted: boolean): Promise<void> {
  const patient = patients[Math.floor(Math.random() * patients.length)]!;
  const row = { ...patient.row };
  if (drifted) {
    row.mean_radius = row.mean_radius! * 1.45;
    row.mean_texture = row.mean_texture! + 6;
    row.worst_texture = row.worst_texture! + 8;
  }
  const started = performance.now();
  last = { out: await runtime.predict(row), diagnosis: patient.diagnosis };
  const ms = (performance.now() - started).toFixed(2);
  $("result").textContent = `${last.out.label} (${((last.out.score ?? 0) * 100).toFixed(1)}%) — v${last.out.version}, ${ms} ms`;
  $("truth").textContent = "";
  $<HTMLButtonElement>("feedback").disabled = false;
}

const failed = (e: Error) => log(`predict failed: ${e.message}`);
$("predict").addEventListener("click", () => predict(false).catch(failed));
$("buggy").addEventListener("click", () => predict(true).catch(failed));
$("feedback").addEventListener("click", async () => {
  await runtime.feedback(last.out.id, last.diagnosis);
  $("truth").textContent = `true diagnosis: ${last.diagnosis} — joined on this device, reported only as a confusion-matrix cell`;
  $<HTMLButtonElement>("feedback").disabled = true;
});
