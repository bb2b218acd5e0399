// Prediction logging (docs/privacy.md "Prediction logging"): POST /v1/logs writes sampled raw
// rows to R2 as gzip NDJSON partitioned by model/version/date, only for models whose rollout has
// a log rate, only under the versions the client runs; GET /v1/logs exports them with a read key.
import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../../../../collector/index.ts";
import { describe, expect, it } from "vitest";
import { LIMITS } from "../../../../protocol/limits.ts";
import { openDb } from "../../../../collector/db/client.ts";
import { sweepLogs } from "../../../../collector/logs/retention.ts";
import { exportRows, planExport } from "../../../../collector/logs/export.ts";
import { objectKey, partitionOf } from "../../../../collector/logs/partition.ts";
import type { LogRow } from "../../../../protocol/schema/prediction-log.ts";
import { logExportMaxObjects } from "../../../../collector/config.ts";
import { liveModel } from "../../ingest-helpers.ts";
import { exportLogs, logBatch, logRow, postLogs } from "../../log-helpers.ts";
import { BOOTSTRAP, call, createKey, expectError, publish, rollout, unique } from "../../registry-helpers.ts";

const DAY = 86_400_000;

/** A live model with logging on at `rate`, its ingest key and a read key. */
async function loggedModel(prefix: string, rate = 1) {
  const live = await liveModel(prefix);
  await rollout(live.model, { logRate: rate });
  return { ...live, read: (await createKey("default", "read")).token };
}

/** The keys and decompressed lines of every log object of a model key in R2. */
async function stored(key: string): Promise<Map<string, unknown[]>> {
  const out = new Map<string, unknown[]>();
  const list = await env.ARTIFACTS.list({ prefix: `logs/${encodeURIComponent(key)}/` });
  for (const o of list.objects) {
    const body = await env.ARTIFACTS.get(o.key);
    const text = await new Response(body!.body.pipeThrough(new DecompressionStream("gzip"))).text();
    out.set(
      o.key,
      text
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
    );
  }
  return out;
}

describe("POST /v1/logs", () => {
  it("is off by default: a model without a log rate takes no rows and its assignment names none", async () => {
    const { model, version, token } = await liveModel("logs-off");
    await expectError(await postLogs(token, logBatch(model, [logRow(version)])), 403, "forbidden");
    const assignment = (await (await call("GET", `/v1/assignment?model=${model}&client=c1`, { token })).json()) as { logRate?: number };
    expect(assignment.logRate).toBeUndefined();
    const view = (await (await call("GET", `/v1/models/${model}/rollout`, { token: BOOTSTRAP })).json()) as { logRate: number; logRetentionDays: number };
    expect(view).toMatchObject({ logRate: 0, logRetentionDays: 30 });
  });

  it("carries the log rate in the assignment and writes gzip NDJSON under model/version/date", async () => {
    const { model, key, version, token, read } = await loggedModel("logs-write", 0.25);
    const assignment = (await (await call("GET", `/v1/assignment?model=${model}&client=c1`, { token })).json()) as { logRate?: number; configVersion: number };
    expect(assignment.logRate).toBe(0.25);
    // one prediction time: a partition is the UTC day of the rows' time, which a run at 23:59:59 may write after
    const t = Date.now();
    const rows = [logRow(version, { t }), logRow(version, { t, actual: "no" }), logRow(version, { t })];
    const label = { id: rows[0]!.id, version, t, actual: "yes" };
    const res = await postLogs(token, logBatch(model, rows));
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toEqual({ rows: 3, labels: 0 });
    expect((await postLogs(token, logBatch(model, [], [label]))).status).toBe(200);
    const objects = await stored(key);
    const day = new Date(t).toISOString().slice(0, 10);
    expect([...objects.keys()].every((k) => k.startsWith(`logs/${encodeURIComponent(key)}/${version}/${day}/`))).toBe(true);
    expect([...objects.values()].flat()).toEqual([...rows, label]);
    const exported = await exportLogs(read, `model=${model}&since=1d`);
    expect(exported.rows).toEqual([{ ...rows[0], actual: "yes" }, rows[1], rows[2]]);
  });

  it("writes a retried batch once, and no batch replaces another's rows", async () => {
    const { model, version, token, read } = await loggedModel("logs-retry");
    const batch = logBatch(model, [logRow(version), logRow(version)]);
    for (let i = 0; i < 3; i++) expect((await postLogs(token, batch)).status).toBe(200);
    // the same batch id with other rows (someone who learnt it) changes nothing stored
    expect((await postLogs(token, { ...batch, rows: [logRow(version, { inputs: { tenure: 666 } })] })).status).toBe(200);
    expect((await exportLogs(read, `model=${model}`)).rows).toEqual(batch.rows);
  });

  it("answers a batch it wrote as written when it comes again after its rows aged past the limit: refused, the device would count them as dropped too", async () => {
    const { model, version, token, read } = await loggedModel("logs-aged-retry");
    // a row just within the age limit: written, its answer lost; the device sends the batch again once the row is past it
    const batch = logBatch(model, [logRow(version, { t: Date.now() - LIMITS.logMaxAgeMs + 1_500 })], [], { dropped: 4 });
    expect((await postLogs(token, batch)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const again = await postLogs(token, batch);
    expect(again.status, await again.clone().text()).toBe(200);
    expect(await again.json()).toEqual({ rows: 1, labels: 0 });
    const exported = await exportLogs(read, `model=${model}&from=${Date.now() - LIMITS.logMaxAgeMs - DAY}`);
    expect([exported.rows.length, exported.dropped]).toEqual([1, 4]);
    // a batch never written is still refused
    await expectError(await postLogs(token, { ...batch, id: "never-written" }), 400, "validation");
  });

  it("answers a batch it wrote as written when it comes again after logging was turned off: refused, the device would count its rows as dropped too", async () => {
    const { model, version, token } = await loggedModel("logs-off-retry");
    const batch = logBatch(model, [logRow(version)], [], { dropped: 2 });
    expect((await postLogs(token, batch)).status).toBe(200);
    // its answer lost; logging turned off; a device on its old assignment sends the batch again
    await rollout(model, { logRate: 0 });
    const again = await postLogs(token, batch);
    expect(again.status, await again.clone().text()).toBe(200);
    expect(await again.json()).toEqual({ rows: 1, labels: 0 });
    // a batch never written is still refused
    await expectError(await postLogs(token, { ...batch, id: "never-written-off" }), 403, "forbidden");
  });

  it("refuses rows of versions the client does not run, of features the version lacks, of other times, over the batch limit", async () => {
    const { model, version, token } = await loggedModel("logs-attacks");
    const { version: unreleased } = await publish(model);
    await expectError(await postLogs(token, logBatch(model, [logRow(unreleased)])), 403, "not_assigned");
    await expectError(await postLogs(token, logBatch(model, [], [{ id: "x.0", version: unreleased, t: Date.now(), actual: "yes" }])), 403, "not_assigned");
    await expectError(await postLogs(token, logBatch(model, [logRow(version, { inputs: { tenure: 1, password: "hunter2" } })])), 400, "unknown_feature");
    await expectError(await postLogs(token, logBatch(model, [logRow(version, { t: Date.now() - LIMITS.logMaxAgeMs - DAY })])), 400, "validation");
    await expectError(await postLogs(token, logBatch(model, [logRow(version, { t: Date.now() + 2 * DAY })])), 400, "validation");
    const many = Array.from({ length: LIMITS.logRowsPerBatch + 1 }, () => logRow(version));
    await expectError(await postLogs(token, logBatch(model, many)), 400, "limit_exceeded");
    await expectError(await postLogs(token, logBatch(model, [logRow(version, { inputs: { plan: "x".repeat(LIMITS.logValueLength + 1) } })])), 400, "limit_exceeded");
    await expectError(await postLogs(token, { ...logBatch(model, [logRow(version)]), extra: 1 }), 400, "validation");
    await expectError(await postLogs(token, logBatch(model, [])), 400, "validation");
    // a key a parsed record cannot hold would be dropped silently: the row would be stored other than sent
    const proto = JSON.stringify(logBatch(model, [logRow(version)])).replace('"inputs":{', '"inputs":{"__proto__":0,');
    await expectError(await call("POST", "/v1/logs", { token, body: proto, headers: { "Content-Type": "application/json" } }), 400, "validation");
    const big = new Uint8Array(LIMITS.logBatchBytes + 1);
    await expectError(await call("POST", "/v1/logs", { token, body: big, headers: { "Content-Type": "application/json" } }), 413, "payload_too_large");
  });

  it("writes only under the key's own models: another app's model is not found", async () => {
    const { model, version } = await loggedModel("logs-app");
    const other = (await createKey(unique("logs-other"), "ingest")).token;
    await expectError(await postLogs(other, logBatch(model, [logRow(version)])), 404, "not_found");
  });

  it("keeps the rate limits and origin rules of reports", async () => {
    const { model, version, token } = await loggedModel("logs-limits");
    // 45 requests cover at least 23 of one 60 s window of the test limiter (20 per address)
    const statuses: number[] = [];
    for (let i = 0; i < 45; i++) {
      const res = await postLogs(token, logBatch(model, [logRow(version)]), { "CF-Connecting-IP": "203.0.113.77" });
      await res.body?.cancel();
      statuses.push(res.status);
    }
    expect(statuses).toContain(429);
    const bound = await call("POST", "/v1/keys", { token: BOOTSTRAP, json: { app: "default", role: "ingest", origins: ["https://app.example.com"] } });
    const boundToken = ((await bound.json()) as { token: string }).token;
    await expectError(await postLogs(boundToken, logBatch(model, [logRow(version)]), { Origin: "https://evil.example.net" }), 403, "forbidden");
    expect((await postLogs(boundToken, logBatch(model, [logRow(version)]), { Origin: "https://app.example.com" })).status).toBe(200);
  });
});

describe("GET /v1/logs", () => {
  it("needs a read key of the model's app: ingest keys cannot read rows", async () => {
    const { model, token } = await loggedModel("logs-read");
    await expectError(await call("GET", `/v1/logs?model=${model}`, { token }), 403, "forbidden");
    await expectError(await call("GET", `/v1/logs?model=${model}`), 401, "unauthorized");
    const otherRead = (await createKey(unique("logs-read-other"), "read")).token;
    await expectError(await call("GET", `/v1/logs?model=${model}`, { token: otherRead }), 404, "not_found");
  });

  it("exports the range asked, one version or all, and the rows devices dropped", async () => {
    const { model, version, token, read } = await loggedModel("logs-range");
    const now = Date.now();
    const old = logRow(version, { t: now - 3 * DAY });
    const recent = logRow(version, { t: now - 1000 });
    expect((await postLogs(token, logBatch(model, [old, recent], [], { dropped: 7 }))).status).toBe(200);
    expect((await exportLogs(read, `model=${model}`)).rows).toEqual([recent]);
    const all = await exportLogs(read, `model=${model}&from=${now - 4 * DAY}&version=${version}`);
    expect(all.rows).toEqual([old, recent]);
    expect(all.dropped).toBe(7);
    expect((await exportLogs(read, `model=${model}&from=${now - 4 * DAY}&version=${version + 1}`)).rows).toEqual([]);
  });

  it("exports what clients wrote with every control character escaped: the same JSON, safe to print", async () => {
    const { model, version, token, read } = await loggedModel("logs-controls");
    // ESC [2J and the same CSI as one C1 character (U+009B), and DEL: JSON.stringify leaves the last two raw
    const hostile = "\u001b[2J\u009b2J\u007f";
    const row = logRow(version, { segment: { app: hostile }, inputs: { tenure: 1, plan: hostile } });
    expect((await postLogs(token, logBatch(model, [row]))).status).toBe(200);
    const res = await call("GET", `/v1/logs?model=${model}`, { token: read });
    const text = new TextDecoder().decode(await res.arrayBuffer());
    expect([...text.matchAll(/\p{Cc}/gu)].map((m) => m[0])).toEqual(["\n"]);
    expect(JSON.parse(text)).toEqual(row);
  });
});

describe("log retention", () => {
  it("the hourly sweep deletes partitions older than the model's retention days; exports never show them", async () => {
    const { model, key, version, token, read } = await loggedModel("logs-retention");
    // 3 days (today and the two before): the day-old row stays within it even when the export
    // below runs after a midnight that fell since `now` (with 2 days, a run at 23:59:59 read
    // 'expected [ { id: 'p3.0', … } ] to deeply equal [ …(2) ]': the day-old row was two days old)
    await rollout(model, { logRetentionDays: 3 });
    const now = Date.now();
    const rows = [logRow(version, { t: now - 5 * DAY }), logRow(version, { t: now - DAY }), logRow(version, { t: now })];
    expect((await postLogs(token, logBatch(model, rows))).status).toBe(200);
    expect((await stored(key)).size).toBe(3);
    // past retention but not swept yet: the export leaves it out already
    expect((await exportLogs(read, `model=${model}&from=${now - 6 * DAY}`)).rows).toEqual(rows.slice(1));
    // the minute cron sweeps once an hour: not at 5 past, at the hour
    const hour = Math.floor(now / 3_600_000) * 3_600_000;
    await worker.scheduled(createScheduledController({ scheduledTime: hour + 5 * 60_000, cron: "* * * * *" }), env);
    expect((await stored(key)).size).toBe(3);
    await worker.scheduled(createScheduledController({ scheduledTime: hour, cron: "* * * * *" }), env);
    const left = [...(await stored(key)).values()].flat();
    expect(left).toEqual(rows.slice(1));
    await rollout(model, { logRetentionDays: 1 });
    expect(await sweepLogs(env.ARTIFACTS, openDb(env), now)).toBeGreaterThanOrEqual(1);
    expect([...(await stored(key)).values()].flat()).toEqual([rows[2]]);
  });

  it("sweeps the oldest partitions first, whichever model: a model's backlog past the bound does not starve the others", async () => {
    const busy = await loggedModel("logs-sweep-busy");
    const quiet = await loggedModel("logs-sweep-quiet");
    const now = Date.now();
    const put = (m: { key: string; version: number }, t: number, batch: string) => env.ARTIFACTS.put(objectKey(partitionOf(m.key, m.version, t), "c", batch, "rows"), "x");
    // every run, the busy model has more expired objects than a run deletes, all newer than the quiet model's
    for (const batch of ["a", "b", "c"]) await put(busy, now - 50 * DAY, batch);
    await put(quiet, now - 60 * DAY, "a");
    expect(await sweepLogs(env.ARTIFACTS, openDb(env), now, 2)).toBe(2);
    const count = async (m: { key: string }) => (await env.ARTIFACTS.list({ prefix: `logs/${encodeURIComponent(m.key)}/` })).objects.length;
    expect(await count(quiet)).toBe(0);
    expect(await count(busy)).toBe(2);
  });
});

describe("the log export's pages", () => {
  it("reads at most LOG_EXPORT_MAX_OBJECTS objects a request, 9,000 unless set: under Workers Paid's 10,000 subrequests", () => {
    expect(logExportMaxObjects(env)).toBe(9000);
    expect(logExportMaxObjects({})).toBe(9000);
    expect(logExportMaxObjects({ LOG_EXPORT_MAX_OBJECTS: "50000" })).toBe(50000);
  });

  it("pages a range of more objects than one request reads, between clients: every row once, each with its label", async () => {
    const { model, key, version, token, read } = await loggedModel("logs-pages");
    // five clients: rows, then labels of the first row in a batch of its own (two objects each)
    const sent: LogRow[] = [];
    // one prediction time, so every object is in one day's partition however long the posts take (a
    // run that crossed midnight between clients split them over two: 'expected [ 4, undefined ] to deeply equal [ 10, undefined ]')
    const t = Date.now();
    for (let i = 0; i < 5; i++) {
      const rows = [logRow(version, { t }), logRow(version, { t })];
      const client = { client: `pager-${i}` };
      expect((await postLogs(token, logBatch(model, rows, [], client))).status).toBe(200);
      expect((await postLogs(token, logBatch(model, [], [{ id: rows[0]!.id, version, t, actual: `label-${i}` }], client))).status).toBe(200);
      sent.push({ ...rows[0]!, actual: `label-${i}` }, rows[1]!);
    }
    const q = { model: key, from: Date.now() - DAY, to: Date.now() + 1 };
    const whole = await planExport(env.ARTIFACTS, q, 9000);
    expect([whole.partitions[0]!.rows.length + whole.partitions[0]!.labels.length, whole.next]).toEqual([10, undefined]);
    const exported: LogRow[] = [];
    const pages: number[] = [];
    let after: string | undefined;
    do {
      // 3 objects a page: a client's two objects never split, so each page holds one client
      const plan = await planExport(env.ARTIFACTS, q, 3, after);
      pages.push(plan.partitions.reduce((n, p) => n + p.rows.length + p.labels.length, 0));
      const text = await new Response(exportRows(env.ARTIFACTS, plan, q)).text();
      exported.push(
        ...text
          .split("\n")
          .filter(Boolean)
          .map((l) => JSON.parse(l) as LogRow),
      );
      after = plan.next;
    } while (after);
    expect(pages).toEqual([2, 2, 2, 2, 2]);
    expect(exported.sort((a, b) => (a.id < b.id ? -1 : 1))).toEqual(sent.sort((a, b) => (a.id < b.id ? -1 : 1)));
    // through the route: the header of the next page, and no header on the last
    const first = await call("GET", `/v1/logs?model=${model}`, { token: read });
    expect(first.headers.get("Driftline-Next")).toBeNull();
    await first.arrayBuffer();
    await expectError(await call("GET", `/v1/logs?model=${model}&after=${encodeURIComponent("logs/default%2Fother/1/")}`, { token: read }), 400, "validation");
  });

  it("pages past one client's objects of one day when they are more than a page reads: one sender cannot make the rest of the day unexportable", async () => {
    const model = `default/${unique("log-cap")}`;
    const day = new Date().toISOString().slice(0, 10);
    const partition = `logs/${encodeURIComponent(model)}/1/${day}/`;
    // one sender (the public ingest key) wrote 4 batches under one client id, sorted first; an honest client one
    const keys = [...Array.from({ length: 4 }, (_, i) => `${partition}0-b${i}.rows.ndjson.gz`), `${partition}z-b0.rows.ndjson.gz`];
    for (const key of keys) await env.ARTIFACTS.put(key, new Uint8Array(1));
    const q = { model, from: Date.now() - DAY, to: Date.now() + 1 };
    expect((await planExport(env.ARTIFACTS, q, 5)).partitions[0]!.rows).toEqual(keys);
    const read: string[] = [];
    let after: string | undefined;
    for (let page = 0; page < 10; page++) {
      const plan = await planExport(env.ARTIFACTS, q, 3, after);
      read.push(...plan.partitions.flatMap((p) => p.rows));
      after = plan.next;
      if (!after) break;
    }
    // every object once, the honest client's included
    expect(read).toEqual(keys);
  });

  it("ends a page at the rows and labels it may hold: one sender's full batches of labels cannot fill an export's memory", async () => {
    const { model, key, version, token } = await loggedModel("logs-entries");
    // one sender: three batches of 500 labels (their ids and values are held while a page is
    // written); an honest client: two rows and a label
    for (let b = 0; b < 3; b++) {
      const labels = Array.from({ length: 500 }, (_, i) => ({ id: `flood${b}.${i}`, version, t: Date.now(), actual: "x".repeat(LIMITS.nameLength) }));
      expect((await postLogs(token, logBatch(model, [], labels, { client: "flood" }))).status).toBe(200);
    }
    const rows = [logRow(version), logRow(version)];
    expect((await postLogs(token, logBatch(model, rows, [{ id: rows[0]!.id, version, t: rows[0]!.t, actual: "yes" }], { client: "honest" }))).status).toBe(200);
    const lines = await stored(key);
    const q = { model: key, from: Date.now() - DAY, to: Date.now() + 1 };
    const held: number[] = [];
    const read: string[] = [];
    let after: string | undefined;
    for (let page = 0; page < 10; page++) {
      const plan = await planExport(env.ARTIFACTS, q, 9000, after, 600);
      const keys = plan.partitions.flatMap((p) => [...p.rows, ...p.labels]);
      held.push(keys.reduce((n, k) => n + lines.get(k)!.length, 0));
      read.push(...keys);
      after = plan.next;
      if (!after) break;
    }
    expect(Math.max(...held)).toBeLessThanOrEqual(600);
    expect(read.sort()).toEqual([...lines.keys()].sort());
  });
});
