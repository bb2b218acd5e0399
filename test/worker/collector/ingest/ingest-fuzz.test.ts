import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { shardCount } from "../../../../collector/config.ts";
import { shardOf } from "../../../../collector/ingest/routing.ts";
import { unpackAggregate } from "../../../../collector/aggregates/stored-aggregate.ts";
import { LIMITS } from "../../../../protocol/limits.ts";
import { CategoricalSketch, NumericSketch, decodeCategorical, decodeNumeric, fromBase64 } from "../../../../protocol/sketch/index.ts";
import { checkAnswer, ingestKeys, send } from "../../fuzz-helpers.ts";
import { flush, liveModel, makeReport } from "../../ingest-helpers.ts";
import { BOOTSTRAP, call, createKey, publish, rollout, unique } from "../../registry-helpers.ts";
import { RawJson, buildReport, deepJson, reportCase, toJson } from "../../report-mutations.ts";

/**
 * Fuzzing what an ingest key can reach (issue 11, item 12): POST /v1/reports as JSON and as a
 * beacon (text/plain, `?key=`), GET /v1/assignment and GET /v1/artifacts/:sha256. fast-check
 * builds the inputs from valid ones (test/worker/report-mutations.ts) with a fixed seed. Every
 * answer is below 500, a non-2xx one is the error envelope, and after a flush the stored
 * aggregates hold exactly what the accepted reports add up to: nothing of a rejected or
 * duplicate report is counted.
 */

const SEED = 20_261_202;
/** Reports per batch: the batch limit, so a run examines as many reports as a request may carry. */
const BATCH = LIMITS.reportsPerBatch;
/** Batches per report endpoint: 110 × 100 reports (a batch over the byte limit would be refused whole). */
const BATCHES = 110;
/** Requests per endpoint that take no report body. */
const REQUESTS = 10_000;
/** Values of one feature sketch a report holds: what the stored aggregate must add up to. */
function valuesIn(base64: unknown, kind: "numeric" | "categorical"): number {
  if (typeof base64 !== "string") return 0;
  if (kind === "numeric") {
    const s = decodeNumeric(fromBase64(base64));
    return s.missing + s.nonFinite + s.quantiles.n;
  }
  return decodeCategorical(fromBase64(base64)).total;
}

/** Reports, rows and feature values: what was accepted, or what is stored. */
interface Totals {
  reports: number;
  rows: number;
  tenure: number;
  plan: number;
}

/** The model's stored totals over every day window, role and shard (segment "" holds all traffic). */
async function storedTotals(key: string): Promise<Totals> {
  // a day: its day row and its hour rows not yet rolled into it
  const rows = await env.DB.prepare("select reports, rows, data from aggregates where model = ? and segment = '' and (granularity = 'day' or (granularity = 'hour' and rolled = 0))")
    .bind(key)
    .all<{ reports: number; rows: number; data: string }>();
  const totals = { reports: 0, rows: 0, tenure: 0, plan: 0 };
  for (const row of rows.results) {
    const aggregate = await unpackAggregate(row.data, ["features"]);
    const tenure = aggregate.features.get("tenure");
    const plan = aggregate.features.get("plan");
    totals.reports += row.reports;
    totals.rows += row.rows;
    if (tenure instanceof NumericSketch) totals.tenure += tenure.missing + tenure.nonFinite + tenure.quantiles.n;
    if (plan instanceof CategoricalSketch) totals.plan += plan.total;
  }
  return totals;
}

/** The report endpoint in one of its two forms. */
type Form = "json" | "beacon";

function reportRequest(form: Form, token: string, body: BodyInit, contentType = form === "json" ? "application/json" : "text/plain;charset=UTF-8"): Request {
  const url = form === "json" ? "http://collector/v1/reports" : `http://collector/v1/reports?key=${encodeURIComponent(token)}`;
  const headers: Record<string, string> = { "Content-Type": contentType };
  if (form === "json") headers.Authorization = `Bearer ${token}`;
  return new Request(url, { method: "POST", headers, body });
}

function parsed(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** What the answer to a batch said, checked against the batch. */
interface BatchAnswer {
  accepted: string[];
  duplicates: string[];
  rejected: { id: unknown; code: unknown; message: unknown }[];
}

/**
 * Sends {@link BATCHES} batches of {@link BATCH} mutated reports in `form`, checks every answer,
 * flushes and compares the stored totals with what the accepted reports add up to.
 */
async function fuzzReports(form: Form) {
  const { model, key, version } = await liveModel(`fuzz-${form}`);
  const nextKey = ingestKeys();
  const now = Date.now();
  const acceptedIds = new Set<string>();
  const acceptedShardIds = new Set<string>();
  const sentIds: string[] = [];
  const expected: Totals = { reports: 0, rows: 0, tenure: 0, plan: 0 };
  let examined = 0;
  let batches = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(reportCase, { minLength: BATCH, maxLength: BATCH }), async (cases) => {
      const run = batches++;
      // ids that collide within a batch would leave it open which report an accepted id stands for: such reports are left out
      const texts: string[] = [];
      const ids: (string | undefined)[] = [];
      cases.forEach((c, i) => {
        const text = toJson(buildReport(c, { model, version, id: `${form}-${run}-${i}`, earlierIds: sentIds, now }));
        const id = parsed(text)?.id;
        const validId = typeof id === "string" ? id : undefined;
        if (validId !== undefined && ids.includes(validId)) return;
        texts.push(text);
        ids.push(validId);
      });
      const batch = `{"reports":[${texts.join(",")}]}`;
      const res = await send(reportRequest(form, await nextKey(), batch));
      const what = `${form} batch ${run}`;
      const body = (await checkAnswer(res, what)) as BatchAnswer | undefined;
      if (res.status !== 200) {
        // only a batch over the byte limit is refused whole
        expect([res.status, new TextEncoder().encode(batch).length > LIMITS.batchBytes], what).toEqual([413, true]);
        return;
      }
      expect(Object.keys(body!).sort(), what).toEqual(["accepted", "assignment", "duplicates", "rejected"]);
      const { accepted, duplicates, rejected } = body!;
      expect(accepted.length + duplicates.length + rejected.length, what).toBe(texts.length);
      examined += texts.length;
      for (const r of rejected) expect((typeof r.id === "string" || r.id === null) && typeof r.code === "string" && typeof r.message === "string", what).toBe(true);
      for (const id of duplicates) expect(acceptedIds.has(id), `${what}: duplicate ${id} was never accepted`).toBe(true);
      for (const id of accepted) {
        const report = parsed(texts[ids.indexOf(id)]!)!;
        // ids deduplicate per aggregator shard, which the client picks (docs/ingest.md)
        const deduped = `${shardOf(report.client as string, shardCount(env))}:${id}`;
        expect(acceptedShardIds.has(deduped), `${what}: ${id} accepted twice`).toBe(false);
        acceptedShardIds.add(deduped);
        acceptedIds.add(id);
        const features = report.features as Record<string, unknown>;
        expected.reports++;
        expected.rows += report.rows as number;
        expected.tenure += valuesIn(features.tenure, "numeric");
        expected.plan += valuesIn(features.plan, "categorical");
      }
      for (const id of ids) if (id !== undefined) sentIds.push(id);
    }),
    { seed: SEED + (form === "json" ? 0 : 1), numRuns: BATCHES, endOnFailure: true },
  );
  expect(examined).toBeGreaterThanOrEqual(10_000);
  // the aggregates were not all refused: honest reports of the mix were counted
  expect(expected.reports).toBeGreaterThan(1_000);
  await flush(model);
  expect(await storedTotals(key)).toEqual(expected);
  const stats = await call("GET", `/v1/reports/stats?model=${model}`, { token: BOOTSTRAP });
  const { total } = (await stats.json()) as { total: { accepted: number; pending: number } };
  expect(total).toMatchObject({ accepted: expected.reports, pending: 0 });
  console.log(`${form}: ${examined} reports in ${batches} batches, ${expected.reports} accepted (${expected.rows} rows)`);
}

/** Whole bodies that are not a batch of reports: random bytes, other JSON, deep nesting, a batch of 0 or 101, broken text. */
const junkBody = (valid: string) =>
  fc.oneof(
    fc.uint8Array({ maxLength: 300 }).map((b) => ({ body: b as BodyInit, type: "application/json" })),
    fc.string({ unit: "binary", maxLength: 200 }).map((s) => ({ body: s as BodyInit, type: "text/plain" })),
    fc.jsonValue({ maxDepth: 3 }).map((v) => ({ body: JSON.stringify(v) ?? "null", type: "application/json" })),
    fc.jsonValue({ maxDepth: 2 }).map((v) => ({ body: toJson({ reports: v }), type: "application/json" })),
    fc.constantFrom(1_000, 100_000).map((d) => ({ body: toJson({ reports: [deepJson(d)] }), type: "application/json" })),
    fc.constantFrom(0, BATCH + 1).map((n) => ({ body: `{"reports":[${Array(n).fill(valid).join(",")}]}`, type: "application/json" })),
    fc.nat(valid.length + 12).map((cut) => ({ body: `{"reports":[${valid}]}`.slice(0, cut), type: "application/json" })),
    fc.constantFrom(
      { body: `\ufeff{"reports":[${valid}]}`, type: "application/json" },
      { body: `{"reports":[${valid}]}xyz`, type: "application/json" },
      { body: `{"reports":[${valid}],"reports":{}}`, type: "application/json" },
      { body: `{"reports":[${valid}]}`, type: "application/x-www-form-urlencoded" },
      { body: `{"reports":[${valid}]}`, type: "TEXT/PLAIN; charset=latin1" },
      { body: `{"reports":[${valid}]}`, type: "" },
      { body: `{"reports":[${toJson(new RawJson(`"${"A".repeat(LIMITS.batchBytes)}"`))}]}`, type: "application/json" },
    ),
  );

/** Whole junk bodies sent to the report endpoint in `form`: each answer below 500, in the envelope unless 200. */
async function fuzzBodies(form: Form) {
  const { model, key, version } = await liveModel(`fuzz-body-${form}`);
  const nextKey = ingestKeys();
  const valid = toJson(makeReport(model, version));
  let sent = 0;
  await fc.assert(
    fc.asyncProperty(junkBody(valid), async ({ body, type }) => {
      const res = await send(reportRequest(form, await nextKey(), body, type));
      sent++;
      await checkAnswer(res, `${form} body ${sent}`);
    }),
    { seed: SEED + 2, numRuns: 400, endOnFailure: true },
  );
  // a junk body may hold a valid report: the whole mix is still counted once at most
  await flush(model);
  expect((await storedTotals(key)).reports).toBeLessThanOrEqual(1);
}

/** Text from anywhere in Unicode (lone surrogates included), for query parameters and paths. */
const anyText = fc.string({ unit: "binary", maxLength: 150 });
/** Printable ASCII: what a header value may hold. */
const headerText = fc.string({ unit: "grapheme-ascii", maxLength: 80 });
/** Raw query text with broken percent-escapes, appended to a well-formed query as it is. */
const rawQuery = fc.array(fc.constantFrom("%", "%zz", "%E0%A4%A", "%00", "%2", "&", "=", "model=", "client=", "+", ";", "a"), { maxLength: 6 }).map((parts) => parts.join(""));

/** How a request is authenticated: the ingest key (mostly), none, junk, or the key where this route does not take it. */
const authMode = fc.oneof({ weight: 16, arbitrary: fc.constant("key") }, fc.constantFrom("none", "junk", "queryKey", "emptyBearer"));

/** The request's Authorization header and extra query for `mode`. */
function auth(mode: string, token: string): { headers: Record<string, string>; query: string } {
  if (mode === "key") return { headers: { Authorization: `Bearer ${token}` }, query: "" };
  if (mode === "junk") return { headers: { Authorization: `Bearer ${token.slice(0, -2)}xx` }, query: "" };
  if (mode === "queryKey") return { headers: {}, query: `&key=${encodeURIComponent(token)}` };
  if (mode === "emptyBearer") return { headers: { Authorization: "Bearer " }, query: "" };
  return { headers: {}, query: "" };
}

/** A model of another app: its name, artifact and app. */
async function foreignModel(): Promise<{ model: string; sha256: string }> {
  const app = unique("fuzz-other-app");
  const { token } = await createKey(app, "admin");
  const model = unique("fuzz-foreign");
  const { version, sha256 } = await publish(model, token);
  await rollout(model, { stable: version }, token);
  return { model, sha256 };
}

/** `GET /v1/assignment` with {@link REQUESTS} mutated queries: every answer below 500, an assignment or the envelope. */
async function fuzzAssignment() {
  const { model } = await liveModel("fuzz-assign");
  const foreign = await foreignModel();
  const nextKey = ingestKeys();
  const query = fc.record({
    model: fc.oneof(
      { weight: 6, arbitrary: fc.constant<string | undefined>(model) },
      { weight: 1, arbitrary: fc.constantFrom<string | undefined>(foreign.model, undefined, "", "x".repeat(64), "x".repeat(65), "-x", "a..b", "no-such-model", "☃", model.toUpperCase(), ` ${model}`) },
      { weight: 1, arbitrary: anyText },
    ),
    client: fc.oneof(
      { weight: 6, arbitrary: fc.string({ minLength: 1, maxLength: 40 }) },
      { weight: 1, arbitrary: fc.constantFrom<string | undefined>(undefined, "", "c".repeat(LIMITS.clientLength), "c".repeat(LIMITS.clientLength + 1), "\u0000", "💥".repeat(64), "__proto__") },
      { weight: 1, arbitrary: anyText },
    ),
    app: fc.option(fc.oneof(fc.constantFrom("default", "", "-x", "no-such-app"), anyText), { nil: undefined, freq: 4 }),
    extra: fc.array(fc.tuple(fc.oneof(fc.constantFrom("model", "client", "app", "__proto__"), anyText), anyText), { maxLength: 2 }),
    raw: fc.option(rawQuery, { nil: undefined, freq: 4 }),
    auth: authMode,
    origin: fc.option(fc.oneof(fc.constantFrom("https://app.example.com", "null", ""), headerText), { nil: undefined, freq: 4 }),
  });
  let sent = 0;
  const one = async (q: typeof query extends fc.Arbitrary<infer Q> ? Q : never) => {
    const params = new URLSearchParams();
    for (const [name, value] of [
      ["model", q.model],
      ["client", q.client],
      ["app", q.app],
    ] as const)
      if (value !== undefined) params.append(name, value);
    for (const [name, value] of q.extra) params.append(name, value);
    const { headers, query: keyQuery } = auth(q.auth, await nextKey());
    if (q.origin !== undefined) headers.Origin = q.origin;
    const url = `http://collector/v1/assignment?${params}${keyQuery}${q.raw === undefined ? "" : `&${q.raw}`}`;
    const res = await send(new Request(url, { headers }));
    const what = `assignment ${sent++}: ${url} ${JSON.stringify(headers)}`;
    const body = (await checkAnswer(res, what)) as Record<string, unknown> | undefined;
    if (res.status === 200) {
      expect(body!.model, what).toBe(model);
      expect(typeof body!.version === "number" && typeof body!.manifest === "object", what).toBe(true);
    }
  };
  await fc.assert(fc.asyncProperty(query, one), { seed: SEED + 3, numRuns: REQUESTS, endOnFailure: true });
  expect(sent).toBe(REQUESTS);
}

/** `GET /v1/artifacts/:sha256` with {@link REQUESTS} mutated paths, Range and If-None-Match headers. */
async function fuzzArtifacts() {
  const { sha256 } = await publish(unique("fuzz-artifact"));
  const foreign = await foreignModel();
  const nextKey = ingestKeys();
  const whole = await send(new Request(`http://collector/v1/artifacts/${sha256}`, { headers: { Authorization: `Bearer ${await nextKey()}` } }));
  expect(whole.status).toBe(200);
  const size = (await whole.arrayBuffer()).byteLength;
  const hex = fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: 64, maxLength: 64 });
  // R2 reads are the costly part of this route in workerd (several ms of CPU each): one request in
  // seven names the artifact, most of those with a range or a validator; the others fuzz the path
  // and the key, which are answered before any read
  const range = fc.oneof(
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        "bytes=0-",
        "bytes=-1",
        "bytes=0-0",
        "bytes=5-2",
        "bytes=-0",
        "bytes=0-1,2-3",
        `bytes=${size - 1}-`,
        `bytes=${size}-`,
        `bytes=-${size + 1}`,
        "bytes=9007199254740993-",
        "bytes=0-99999999999999999999999",
        `bytes=${"9".repeat(400)}-`,
        "items=0-1",
        "bytes = 0-1",
        "bytes=--1",
        "bytes=1-1-1",
        "bytes=",
        "",
      ),
    },
    { weight: 3, arbitrary: fc.tuple(fc.option(fc.nat(size + 10)), fc.option(fc.nat(size + 10))).map(([a, b]) => `bytes=${a ?? ""}-${b ?? ""}`) },
    { weight: 1, arbitrary: headerText },
  );
  const request = fc.record({
    sha: fc.oneof(
      { weight: 1, arbitrary: fc.constant(sha256) },
      { weight: 2, arbitrary: fc.constantFrom(foreign.sha256, sha256.toUpperCase(), sha256.slice(1), `${sha256}0`, "", "..", "%2e%2e", "..%2fkeys", `${sha256}%00`, `${sha256}/x`) },
      { weight: 2, arbitrary: hex },
      { weight: 2, arbitrary: anyText.map(encodeURIComponentSafe) },
    ),
    range: fc.option(range, { nil: undefined, freq: 6 }),
    ifNoneMatch: fc.option(fc.oneof(fc.constantFrom(`"${sha256}"`, `W/"${sha256}"`, "*", `"x", "${sha256}"`, ""), headerText), { nil: undefined, freq: 3 }),
    auth: authMode,
  });
  let sent = 0;
  const one = async (r: typeof request extends fc.Arbitrary<infer R> ? R : never) => {
    const { headers, query } = auth(r.auth, await nextKey());
    if (r.range !== undefined) headers.Range = r.range;
    if (r.ifNoneMatch !== undefined) headers["If-None-Match"] = r.ifNoneMatch;
    const url = `http://collector/v1/artifacts/${r.sha}${query ? `?${query.slice(1)}` : ""}`;
    const res = await send(new Request(url, { headers }));
    const what = `artifact ${sent++}: ${url} ${JSON.stringify(headers)}`;
    if (res.status === 206) {
      const [, first, last, total] = res.headers
        .get("Content-Range")!
        .match(/^bytes (\d+)-(\d+)\/(\d+)$/)!
        .map(Number);
      expect({ total, length: (await res.arrayBuffer()).byteLength }, what).toEqual({ total: size, length: last! - first! + 1 });
    } else if (res.status === 200) expect((await res.arrayBuffer()).byteLength, what).toBe(size);
    else {
      if (res.status === 416) expect(res.headers.get("Content-Range"), what).toBe(`bytes */${size}`);
      await checkAnswer(res, what);
    }
  };
  await fc.assert(fc.asyncProperty(request, one), { seed: SEED + 4, numRuns: REQUESTS, endOnFailure: true });
  expect(sent).toBe(REQUESTS);
}

/** A path segment of any text: percent-encoded where encodeURIComponent can, lone surrogates dropped. */
function encodeURIComponentSafe(text: string): string {
  return encodeURIComponent(text.replace(/[\ud800-\udfff]/g, ""));
}

describe("fuzzing what an ingest key can reach", () => {
  it("POST /v1/reports: 10,000+ mutated reports in JSON batches, nothing rejected is counted", () => fuzzReports("json"), 300_000);
  it("POST /v1/reports as a beacon: 10,000+ mutated reports, nothing rejected is counted", () => fuzzReports("beacon"), 300_000);
  it("POST /v1/reports: junk bodies in both forms", async () => {
    await fuzzBodies("json");
    await fuzzBodies("beacon");
  }, 300_000);
  it("GET /v1/assignment: 10,000 mutated queries", fuzzAssignment, 300_000);
  it("GET /v1/artifacts/:sha256: 10,000 mutated paths, ranges and validators", fuzzArtifacts, 300_000);
});
