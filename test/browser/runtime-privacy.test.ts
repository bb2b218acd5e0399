// Issue 13 item 1: no raw value leaves by default. The real runtime predicts 1, 10 and 100 rows
// (whole numbers, as ages and counts are, and unseen plan names that look like what users type);
// every report it sends is decoded and searched for the inputs: no sketch item (after the
// float32 rounding of encoding), min, max or mean equals an input, none can be rounded back to
// one (each is the value of two or more whole numbers: the features' `step` is 1, as
// `driftline profile` finds for whole numbers), and no unseen category text is in any body.
// With `shareUnseenCategories` the app opts in to sending that text.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import "./harness/page-globals.ts";
import type { TestBrowser } from "./harness/browser.ts";
import type { TestCollector } from "./harness/collector.ts";
import { openRuntimePage } from "./harness/runtime-page.ts";
import { startRuntimeRig, type RuntimeRig } from "./harness/runtime-rig.ts";
import type { StaticServer } from "./harness/static-server.ts";
import { churnModel, churnRows } from "../fixtures/runtime-models.ts";
import { blurValue, narrowestCell, pairedLabel } from "../../protocol/blur.ts";
import type { Report } from "../../protocol/schema/report.ts";
import { cdfPoints, decodeCategorical, decodeNumeric, fromBase64 } from "../../protocol/sketch/index.ts";

const SECRETS = ["alice@example.com", "bob.smith 555-0199", "my password is hunter2"];

describe("runtime: no raw value leaves the device by default", () => {
  let rig: RuntimeRig | undefined;
  let collector: TestCollector;
  let server: StaticServer;
  let browser: TestBrowser;
  let page: Page;
  let base: Record<string, unknown>;
  const sent: Report[] = [];
  const bodies: string[] = [];
  // unseen plans are fed as no plan (scikit-learn's handle_unknown="ignore"), not refused
  const model = churnModel("private");
  model.manifest.features = model.manifest.features.map((f) => (f.name === "plan" ? { ...f, policy: "ignore" as const } : { ...f, step: 1 }));
  /** The whole numbers near `x` that are recorded as `x` (float32-rounded, as sketch items are). */
  const wholeNumbersRecordedAs = (x: number) => Array.from({ length: 9 }, (_, i) => Math.round(x) - 4 + i).filter((v) => Math.fround(blurValue(v, narrowestCell(1))) === Math.fround(x));

  beforeAll(async () => {
    ({ collector, server, browser } = rig = await startRuntimeRig());
    await collector.publish(model.bytes, model.manifest);
    base = { collector: collector.url, key: await collector.ingestKey(), model: "private", ortUrl: `${server.url}/ort/`, reportIntervalMs: 3_600_000 };
    page = await browser.context.newPage();
    page.on("request", (req) => {
      if (!req.url().includes("/v1/reports") || req.method() !== "POST") return;
      const body = req.postData() ?? "";
      bodies.push(body);
      sent.push(...(JSON.parse(body) as { reports: Report[] }).reports);
    });
    await openRuntimePage(page, server);
  });

  afterAll(() => rig?.stop());

  /** Predicts `rows` in one runtime, flushes, closes; resolves once the collector has them. */
  const predict = async (rows: unknown[], extra: Record<string, unknown> = {}) => {
    await page.evaluate(
      async ({ o, r }) => {
        const rt = await window.Driftline.createRuntime(o as never);
        await rt.predict(r as never[]);
        await rt.flush();
        await rt.close();
      },
      { o: { ...base, ...extra }, r: rows },
    );
  };

  for (const n of [1, 10, 100]) {
    it(`sends none of the inputs of ${n} prediction${n > 1 ? "s" : ""}`, async () => {
      sent.length = 0;
      bodies.length = 0;
      const rows = churnRows(n, n * 7).map((r, i) => (i % 3 === 0 ? { ...r, plan: SECRETS[i % SECRETS.length]! } : r));
      await predict(rows);
      const reports = sent.filter((r) => r.rows > 0);
      expect(reports.reduce((total, r) => total + r.rows, 0)).toBe(n);
      for (const name of ["tenure", "charges", "age"] as const) {
        const inputs = new Set(rows.map((r) => Math.fround(r[name])));
        for (const r of reports) {
          const s = decodeNumeric(fromBase64(r.features[name]!));
          const items = Array.from(cdfPoints(s.quantiles).values, Math.fround);
          const leaked = [...items, s.quantiles.min, s.quantiles.max, s.mean].filter((x) => inputs.has(Math.fround(x)) || rows.some((row) => row[name] === x));
          expect(leaked, `${name}: values equal to inputs`).toEqual([]);
          // rounding gives no input back: every recorded value is that of two whole numbers or more
          for (const x of [...items, s.quantiles.min, s.quantiles.max]) expect(wholeNumbersRecordedAs(x).length, `${name}: ${x}`).toBeGreaterThanOrEqual(2);
          // and what is sent is close: within a cell (2 wide, or 0.1 % of larger inputs) of an input
          expect(items.every((x) => rows.some((row) => Math.abs(x - row[name]) <= Math.max(Math.abs(row[name]) * 2 ** -10, 2)))).toBe(true);
        }
      }
      for (const r of reports) expect([...decodeCategorical(fromBase64(r.features.plan!)).heavy.keys()]).toEqual([]);
      // nor anywhere else in the bodies, sketches decoded or not
      for (const secret of SECRETS) expect(bodies.join("\n")).not.toContain(secret);
      const unseen = rows.filter((r) => SECRETS.includes(r.plan)).length;
      expect(reports.reduce((total, r) => total + decodeCategorical(fromBase64(r.features.plan!)).other, 0)).toBe(unseen);
    });
  }

  for (const n of [1, 10]) {
    it(`sends the residuals of ${n} labelled regression row${n > 1 ? "s" : ""} so that no label comes back, not even at the ends of the targets' range`, async () => {
      // the churn network's first output read as a value, its targets whole numbers from 0 to 89
      const name = `private-value-${n}`;
      const regression = churnModel(name);
      const targets = { min: 0, max: 89 };
      regression.manifest.outputs = [{ name: "probabilities", kind: "regression", step: 1, targets }];
      delete regression.manifest.profile!.prediction;
      await collector.publish(regression.bytes, regression.manifest);
      sent.length = 0;
      const rows = churnRows(n, 3);
      // the range's ends among them: a label alone in its cell there would come back exactly
      const labels = rows.map((r, i) => [0, 89][i] ?? r.tenure);
      const predicted = await page.evaluate(
        async ({ o, r, l }) => {
          const rt = await window.Driftline.createRuntime(o as never);
          const out = await rt.predict(r as never[]);
          for (const [i, p] of out.entries()) await rt.feedback(p.id, l[i]!);
          await rt.flush();
          await rt.close();
          return out.map((p) => p.score!);
        },
        { o: { ...base, model: name }, r: rows, l: labels },
      );
      const sketches = sent.filter((r) => r.residual).map((r) => decodeNumeric(fromBase64(r.residual!)));
      expect(sketches.reduce((total, s) => total + s.count, 0)).toBe(n);
      const recorded = sketches.flatMap((s) => [...Array.from(cdfPoints(s.quantiles).values, Math.fround), s.quantiles.min, s.quantiles.max]);
      const exact = labels.map((label, i) => Math.fround(label - predicted[i]!));
      expect(recorded.filter((x) => exact.includes(Math.fround(x)))).toEqual([]);
      // with the prediction known (a one-row report's own, exact), each residual fits two labels
      // the targets can take (or three), or none
      const labelsRecordedAs = (x: number, p: number) => Array.from({ length: 90 }, (_, l) => l).filter((l) => Math.fround(blurValue(pairedLabel(l, 1, targets) - p)) === Math.fround(x));
      for (const x of recorded) for (const p of predicted) expect(labelsRecordedAs(x, p).length, `${x} with ${p}`).not.toBe(1);
      expect(labels.every((label, i) => recorded.some((x) => labelsRecordedAs(x, predicted[i]!).includes(label)))).toBe(true);
    });
  }

  it("sends unseen category text only when the app opts in", async () => {
    sent.length = 0;
    bodies.length = 0;
    await predict([{ ...churnRows(1)[0]!, plan: SECRETS[0]! }], { shareUnseenCategories: true });
    const heavy = sent.filter((r) => r.rows > 0).flatMap((r) => [...decodeCategorical(fromBase64(r.features.plan!)).heavy.keys()]);
    expect(heavy).toEqual([SECRETS[0]]);
  });
});
