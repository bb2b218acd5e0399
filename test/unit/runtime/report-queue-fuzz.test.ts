// Seeded random scenarios for the report queue (runtime/report-queue.ts): pages one after another
// on one store, each cutting reports of three streams, sending them to a collector that answers
// 200, loses its answer after keeping the batch, fails (network, 503, 429) or sits behind a proxy
// with a body limit (413), with concurrent adds and flushes, the clock jumping (or standing
// still) and each page closed or gone with `pagehide` (the cut, the beacon; the writes begun then
// lost). The last page sends everything. The collector keeps the first report of each id; its
// rows + the rows reported as `dropped` must equal the rows predicted, except for the one double
// count the queue accepts to stay bounded: a report a page before beaconed, loaded and then
// dropped by the size bounds (docs/runtime.md "Bounds").
//
// `FROM=1 COUNT=300` (the default) picks the seeds; `LOG=1` prints each failing seed's steps.
import { expect, it } from "vitest";
import { Accumulator } from "../../../runtime/report-builder.ts";
import type { Draft } from "../../../runtime/draft.ts";
import { ReportQueue, type QueueEntry } from "../../../runtime/report-queue.ts";
import type { Api } from "../../../runtime/api.ts";
import { DriftlineError } from "../../../protocol/errors.ts";
import type { Report } from "../../../protocol/schema/report.ts";
import { churnModel, churnRows } from "../../fixtures/runtime-models.ts";
import { copyingStore, storeLosingWritesOnLeave } from "../../fixtures/page-stores.ts";
import { droppedIn, foldRows } from "../../fixtures/report-drafts.ts";

const { manifest } = churnModel("churn");

/** mulberry32: a seeded generator of numbers in [0, 1). */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A report of `rows` rows from `offset` on, of stream `s`, `wide` more numeric features (split when frozen past 50,000 characters). */
function cut(rows: number, offset: number, s: string, end: number, wide: number): Draft {
  const acc = new Accumulator(manifest, end - 1000);
  foldRows(acc, churnRows(rows, offset), (r) => r % 3, 0.5);
  if (offset % 4 === 0) acc.error("validation");
  const d = acc.cut({ id: crypto.randomUUID(), model: "churn", version: 1, role: "live", client: "c", segment: { backend: "wasm", s }, sampleRate: 1 }, end)!;
  for (let f = 0; f < wide; f++) d.features[`n${f}`] = d.features.tenure!;
  return d;
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
/** A report as the log shows it: its id's start, part, rows and dropped rows. */
const brief = (r: Report) => `${r.id.slice(0, 4)}${r.part ? `/${r.part}` : ""}:${r.rows}${r.errors ? `+d${droppedIn([r])}` : ""}`;

/** One scenario; what the collector counted against what was predicted. */
async function scenario(seed: number, log: string[]) {
  const rnd = random(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const held = new Map<string, Report>();
  const take = (reports: Report[]) => reports.forEach((r) => held.has(r.id) || held.set(r.id, structuredClone(r)));
  const saved = copyingStore();
  let t = 10 * 86_400_000;
  const clock = { now: () => t, setTimeout: () => 0, clearTimeout: () => {} };
  const bounds = { maxEntries: pick([2, 3, 4, 8, 64]), maxBytes: pick([5_000, 20_000, 200_000, 8_000_000]), maxAgeMs: pick([3_600_000, 86_400_000]) };
  // a proxy that refuses bodies past its limit (413); one below a beacon's 60,000 characters
  // refuses the beacon too, which loses what only it carries: such pages are closed, not left
  const proxy = pick([Infinity, Infinity, 3_000, 30_000, 70_000, 120_000]);
  const pNet = pick([0, 0.1, 0.5, 0.9]);
  const pLose = pick([0, 0.1, 0.3]);
  // the clock stands still between steps (an app's own clock), or moves a millisecond
  const step = pick([0, 1, 1]);
  log.push(`bounds ${JSON.stringify(bounds)} proxy ${proxy} net ${pNet} lose ${pLose} step ${step}`);
  let predicted = 0;
  /** The rows of each report a size bound dropped after it was loaded and the collector held it already (counted twice, accepted). */
  let countedTwice = 0;
  let offset = 0;
  const pages = 1 + Math.floor(rnd() * 5);
  for (let p = 0; p <= pages; p++) {
    const last = p === pages;
    // the page's store loses its writes once it is gone; its collector requests hang
    const page = { left: false };
    const { store, leave } = storeLosingWritesOnLeave(saved);
    const api = {
      reports: async ({ reports }: { reports: Report[] }) => {
        if (page.left) return new Promise(() => {});
        const body = JSON.stringify({ reports, sentAt: Date.now() }).length;
        const x = rnd();
        const outcome = body > proxy ? "413" : last ? "ok" : x < pNet ? pick(["net", "503", "429"]) : x < pNet + pLose ? "lose" : "ok";
        log.push(`  send ${reports.map(brief).join(",")} (${body}) -> ${outcome}`);
        if (outcome === "ok" || outcome === "lose") take(reports);
        await tick();
        if (page.left) return new Promise(() => {});
        if (outcome === "ok") return { accepted: reports.length, rejected: [] };
        if (outcome === "lose" || outcome === "net") throw new DriftlineError("network", "down");
        const status = Number(outcome);
        throw Object.assign(new DriftlineError(status === 413 ? "payload_too_large" : "unavailable", outcome), { status });
      },
      beacon: (_path: string, body: string) => {
        if (body.length > 65_536) return false;
        const reports = (JSON.parse(body) as { reports: Report[] }).reports;
        log.push(`  beacon ${reports.map(brief).join(",")}`);
        if (body.length <= proxy) take(reports);
        return true;
      },
    } as unknown as Api;
    const q = new ReportQueue({ store, api, clock, bounds, newId: () => crypto.randomUUID(), onAnswer: () => {}, onError: () => {} });
    // each drop of a loaded report the collector holds already (a page before beaconed it): counted twice, accepted
    const queue = q as unknown as { drop_(e: QueueEntry, ...rest: unknown[]): Promise<void> };
    const drop = queue.drop_.bind(q);
    queue.drop_ = (e, ...rest) => {
      if (q.entries.includes(e) && !e.draft && held.has(e.report.id)) countedTwice += (e.report.part ? 0 : e.report.rows) + (e.dropped ?? 0);
      return drop(e, ...rest);
    };
    await q.load("churn");
    log.push(`page ${p}: loaded ${q.entries.map((e) => `${brief(e.report)}${e.sent ? "s" : ""}`).join(",")}`);
    if (last) {
      for (let i = 0; i < 50 && q.entries.length; i++) await q.flush(true);
      expect(q.entries, "the last page sends everything").toEqual([]);
      break;
    }
    const pending: Array<Promise<unknown>> = [];
    const newCut = () => {
      const rows = 1 + Math.floor(rnd() * 30);
      const wide = rnd() < 0.15 ? 100 + Math.floor(rnd() * 200) : 0;
      const d = cut(rows, offset, pick(["a", "b", "c"]), t, wide);
      offset += rows;
      predicted += rows;
      log.push(`  cut ${d.id.slice(0, 4)} ${d.segment.s} rows ${rows} wide ${wide} at h${Math.floor(t / 3_600_000)}`);
      return d;
    };
    for (let s = 1 + Math.floor(rnd() * 12); s--; ) {
      t += step;
      const x = rnd();
      if (x < 0.4) {
        const added = q.add(newCut());
        if (rnd() < 0.5) await added;
        else pending.push(added);
      } else if (x < 0.65) {
        const flushed = q.flush(rnd() < 0.3);
        if (rnd() < 0.5) await flushed;
        else pending.push(flushed);
      } else if (x < 0.85) t += pick([60_000, 20 * 60_000, 3_600_000, 2 * 86_400_000]);
      else if (x < 0.95) await tick();
      else await Promise.all(pending.splice(0));
    }
    // pagehide is a task of its own: the microtasks of the tasks before it have run (not the store's writes)
    for (let i = 0; i < 50; i++) await Promise.resolve();
    if (proxy > 65_536 && rnd() < 0.7) {
      page.left = true;
      leave();
      t += step;
      log.push("  pagehide");
      if (rnd() < 0.8) void q.add(newCut(), true);
      q.beacon();
      q.stop();
    } else {
      await Promise.all(pending.splice(0));
      log.push("  closed");
      q.stop();
      page.left = true;
      leave();
    }
    t += pick([1000, 3_600_000, 2 * 86_400_000]);
  }
  const reports = [...held.values()];
  const rows = reports.reduce((n, r) => n + (r.part ? 0 : r.rows), 0);
  return { predicted: predicted + countedTwice, counted: rows + droppedIn(reports) };
}

it("counts every row once (rows + dropped = predicted) whatever the collector, the clock and the page do", async () => {
  const from = Number(process.env.FROM ?? 1);
  const count = Number(process.env.COUNT ?? 300);
  const failed: string[] = [];
  for (let seed = from; seed < from + count; seed++) {
    const log: string[] = [];
    const { predicted, counted } = await scenario(seed, log);
    if (counted === predicted) continue;
    failed.push(`seed ${seed}: ${predicted} predicted, ${counted} counted`);
    if (process.env.LOG) console.log(log.join("\n"));
  }
  expect(failed).toEqual([]);
}, 120_000);
