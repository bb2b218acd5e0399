// The demo page: embeds the runtime from the collector's /sdk/ (window.Driftline), predicts
// held-out patients from /demo/live.csv, and sends their true diagnosis back with feedback().
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
$("key").value = params.get("key") ?? localStorage.getItem("driftline-demo-key") ?? "";

let runtime;
let patients = [];
let last;

function log(text) {
  const line = document.createElement("div");
  line.textContent = `${new Date().toLocaleTimeString()}  ${text}`;
  $("log").prepend(line);
}

function showStatus(entries) {
  $("status").replaceChildren(...Object.entries(entries).flatMap(([k, v]) => {
    const dt = document.createElement("dt");
    const dd = document.createElement("dd");
    dt.textContent = k;
    dd.textContent = v;
    return [dt, dd];
  }));
}

async function loadPatients() {
  const [header, ...lines] = (await (await fetch("/demo/live.csv")).text()).trim().split("\n");
  const names = header.split(",");
  return lines.map((line) => {
    const cells = line.split(",");
    const row = {};
    names.forEach((name, i) => { if (name !== "diagnosis") row[name] = Number(cells[i]); });
    return { row, diagnosis: cells[names.indexOf("diagnosis")] };
  });
}

$("start").addEventListener("click", async () => {
  const key = $("key").value.trim();
  if (!key) return log("enter an ingest key first");
  localStorage.setItem("driftline-demo-key", key);
  $("start").disabled = true;
  showStatus({ state: "loading the model…" });
  try {
    const started = performance.now();
    [runtime, patients] = await Promise.all([
      Driftline.createRuntime({ collector: location.origin, key, model: "cancer", segment: { appVersion: "demo-page" }, reportIntervalMs: 10_000 }),
      loadPatients(),
    ]);
    runtime.on("update", (c) => { log(`updated v${c.from} → v${c.to}`); refresh(); });
    runtime.on("rollback", (c) => { log(`rolled back v${c.from} → v${c.to}`); refresh(); });
    runtime.on("error", (e) => log(`error ${e.code}: ${e.message}`));
    log(`runtime ready in ${Math.round(performance.now() - started)} ms`);
    refresh();
    for (const id of ["predict", "buggy"]) $(id).disabled = false;
  } catch (err) {
    showStatus({ state: `failed: ${err.code ?? ""} ${err.message}` });
    $("start").disabled = false;
  }
});

function refresh() {
  showStatus({ state: "running", model: "cancer", version: `v${runtime.version}`, backend: `${runtime.backend.name} (${runtime.backend.reason})` });
}

async function predict(drifted) {
  const patient = patients[Math.floor(Math.random() * patients.length)];
  const row = { ...patient.row };
  if (drifted) {
    row.mean_radius *= 1.45;
    row.mean_texture += 6;
    row.worst_texture += 8;
  }
  const started = performance.now();
  last = { out: await runtime.predict(row), diagnosis: patient.diagnosis };
  const ms = (performance.now() - started).toFixed(2);
  $("result").textContent = `${last.out.label} (${(last.out.score * 100).toFixed(1)}%) — v${last.out.version}, ${ms} ms`;
  $("truth").textContent = "";
  $("feedback").disabled = false;
}

$("predict").addEventListener("click", () => predict(false).catch((e) => log(`predict failed: ${e.message}`)));
$("buggy").addEventListener("click", () => predict(true).catch((e) => log(`predict failed: ${e.message}`)));
$("feedback").addEventListener("click", async () => {
  await runtime.feedback(last.out.id, last.diagnosis);
  $("truth").textContent = `true diagnosis: ${last.diagnosis} — joined on this device, reported only as a confusion-matrix cell`;
  $("feedback").disabled = true;
});
