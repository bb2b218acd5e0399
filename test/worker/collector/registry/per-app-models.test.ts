import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../../../../protocol/hash.ts";
import { flush, makeReport, postReports } from "../../ingest-helpers.ts";
import { BOOTSTRAP, call, createKey, expectError, manifestFor, modelBytes, publish, rollout, unique, upload } from "../../registry-helpers.ts";

type Keys = { app: string; admin: string; read: string; ingest: string };

async function appWithKeys(prefix: string): Promise<Keys> {
  const app = unique(prefix);
  const [admin, read, ingest] = await Promise.all((["admin", "read", "ingest"] as const).map((role) => createKey(app, role)));
  return { app, admin: admin!.token, read: read!.token, ingest: ingest!.token };
}

/** Every read route that names one model, as `[method, path]` for model `m`. */
const MODEL_ROUTES = (m: string): [string, string][] => [
  ["GET", `/v1/models/${m}`],
  ["GET", `/v1/models/${m}/versions`],
  ["GET", `/v1/models/${m}/versions/1`],
  ["GET", `/v1/models/${m}/rollout`],
  ["GET", `/v1/models/${m}/alerts`],
  ["GET", `/v1/drift?model=${m}`],
  ["GET", `/v1/stats?model=${m}`],
  ["GET", `/v1/segments?model=${m}`],
  ["GET", `/v1/reports/stats?model=${m}`],
  ["GET", `/v1/alerts?model=${m}`],
];

/** The answer as another app sees it: status and body, with the model name replaced. */
async function seen(res: Response, name: string): Promise<string> {
  return `${res.status} ${(await res.text()).replaceAll(name, "NAME")}`;
}

// two apps, each with an admin, a read and an ingest key; every test names its own models
let a: Keys;
let b: Keys;
beforeAll(async () => {
  [a, b] = await Promise.all([appWithKeys("app-a"), appWithKeys("app-b")]);
});

describe("model names are scoped by app", () => {
  it("another app's model is the same 404 as a model that does not exist, on every route and role", async () => {
    const mine = unique("secret");
    await publish(mine, a.admin);
    const missing = unique("missing");
    for (const token of [b.read, b.admin]) {
      for (const [method, path] of MODEL_ROUTES(mine)) {
        const foreign = await seen(await call(method, path, { token }), mine);
        const none = await seen(await call(method, path.replace(mine, missing), { token }), missing);
        expect(foreign, path).toBe(none);
        expect(foreign, path).toMatch(/^404 /);
      }
      for (const [method, path, json] of [
        ["PUT", `/v1/models/${mine}/rollout`, { sampleRate: 0.5 }],
        ["POST", `/v1/models/${mine}/rollback`, undefined],
        ["PUT", `/v1/models/${mine}/alerts`, { webhook: "https://hooks.example.com/x" }],
        ["POST", `/v1/reports/flush?model=${mine}`, undefined],
      ] as const) {
        const res = await call(method, path, { token: b.admin, json });
        expect(await seen(res, mine), path).toBe(`404 {"error":{"code":"not_found","message":"no model \\"NAME\\""}}`);
      }
    }
    await expectError(await call("GET", `/v1/assignment?model=${mine}&client=c1`, { token: b.ingest }), 404, "not_found");
    // naming the other app explicitly changes nothing
    await expectError(await call("GET", `/v1/models/${mine}?app=${a.app}`, { token: b.read }), 404, "not_found");
    const listed = (await (await call("GET", "/v1/models", { token: b.read })).json()) as { models: { name: string }[] };
    expect(listed.models.map((m) => m.name)).not.toContain(mine);
  });

  it('both apps publish "churn": neither blocks the other, each has its own versions, rollout and artifact', async () => {
    const name = unique("churn");
    const va = await publish(name, a.admin);
    const vb = await publish(name, b.admin);
    await publish(name, b.admin);
    expect([va.version, vb.version]).toEqual([1, 1]);
    const asA = (await (await call("GET", `/v1/models/${name}`, { token: a.read })).json()) as { app: string; versions: { sha256: string }[] };
    const asB = (await (await call("GET", `/v1/models/${name}`, { token: b.read })).json()) as { app: string; versions: { sha256: string }[] };
    expect([asA.app, asA.versions.map((v) => v.sha256)]).toEqual([a.app, [va.sha256]]);
    expect(asB.app).toBe(b.app);
    expect(asB.versions).toHaveLength(2);
    // the wire keeps the bare name: versions and assignments say "churn", not the internal key
    expect(asB.versions.every((v) => (v as unknown as { model: string }).model === name)).toBe(true);
    const assignment = (await (await call("GET", `/v1/assignment?model=${name}&client=c1`, { token: a.ingest })).json()) as { model: string; manifest: { sha256: string } };
    expect(assignment).toMatchObject({ model: name, manifest: { sha256: va.sha256 } });
  });

  it('ingest and drift of two apps\' "churn" stay apart', async () => {
    const name = unique("churn");
    const va = await publish(name, a.admin);
    const vb = await publish(name, b.admin);
    await rollout(name, { sampleRate: 1 }, a.admin);
    const start = Math.floor(Date.now() / 60_000) * 60_000 - 5 * 60_000;
    const fromA = await postReports(
      a.ingest,
      Array.from({ length: 5 }, (_, i) => makeReport(name, va.version, { client: `a${i}`, start, tenure: [1, 2, 3] })),
    );
    const fromB = await postReports(
      b.ingest,
      Array.from({ length: 3 }, (_, i) => makeReport(name, vb.version, { client: `b${i}`, start, tenure: [100, 110] })),
    );
    expect([fromA.accepted.length, fromB.accepted.length]).toEqual([5, 3]);
    expect(fromA.assignment?.model).toBe(name);
    await flush(name, a.admin);
    await flush(name, b.admin);
    const range = `&from=${start}&to=${start + 60_000}`;
    const statsA = (await (await call("GET", `/v1/stats?model=${name}${range}`, { token: a.read })).json()) as { model: string; reports: number; rows: number };
    const statsB = (await (await call("GET", `/v1/stats?model=${name}${range}`, { token: b.read })).json()) as { model: string; reports: number; rows: number };
    expect(statsA).toMatchObject({ model: name, reports: 5, rows: 15 });
    expect(statsB).toMatchObject({ model: name, reports: 3, rows: 6 });
    const driftA = (await (await call("GET", `/v1/drift?model=${name}${range}`, { token: a.read })).json()) as { model: string; count: number };
    const driftB = (await (await call("GET", `/v1/drift?model=${name}${range}`, { token: b.read })).json()) as { model: string; count: number };
    expect([driftA.model, driftA.count, driftB.model, driftB.count]).toEqual([name, 15, name, 6]);
    // the bootstrap key must say which app when two have the name, and is told how, from the CLI too
    const ambiguous = await expectError(await call("GET", `/v1/stats?model=${name}${range}`, { token: BOOTSTRAP }), 400, "validation");
    expect(ambiguous).toContain(a.app);
    expect(ambiguous).toMatch(/: name one with \?app= \(driftline: --app or DRIFTLINE_APP\)$/);
    const named = (await (await call("GET", `/v1/stats?model=${name}&app=${b.app}${range}`, { token: BOOTSTRAP })).json()) as { reports: number };
    expect(named.reports).toBe(3);
    const metrics = await (await call("GET", "/metrics", { token: a.read })).text();
    expect(metrics).toContain(`driftline_reports_total{model="${name}",app="${a.app}",version="${va.version}",role="live"} 5`);
    expect(metrics).not.toContain(b.app);
  });

  it("an ingest key's reports for a name only another app has are refused as not_found", async () => {
    const name = unique("only-a");
    const { version } = await publish(name, a.admin);
    const answer = await postReports(b.ingest, [makeReport(name, version)]);
    expect(answer.rejected).toEqual([{ id: expect.any(String), code: "not_found", message: `no model "${name}"` }]);
    expect(answer.accepted).toEqual([]);
  });
});

describe("artifacts belong to the apps that uploaded or use them", () => {
  it("app B can neither download app A's artifact nor register a version pointing at its sha256", async () => {
    const name = unique("model");
    const { sha256 } = await publish(name, a.admin);
    const size = (await env.ARTIFACTS.head(sha256))!.size;
    const download = await call("GET", `/v1/artifacts/${sha256}`, { token: a.ingest });
    expect(download.status).toBe(200);
    const bytes = new Uint8Array(await download.arrayBuffer());
    await expectError(await call("GET", `/v1/artifacts/${sha256}`, { token: b.ingest }), 404, "not_found");
    await expectError(await call("GET", `/v1/artifacts/${sha256}`, { token: b.admin }), 404, "not_found");
    // the refusal is the one for bytes that were never uploaded, so B does not learn A has them
    const refused = await call("POST", `/v1/models/x/versions`, { token: b.admin, json: { manifest: manifestFor("x", sha256, size) } });
    expect(await seen(refused, b.app)).toBe(
      `409 {"error":{"code":"not_found","message":"artifact ${sha256} is not uploaded by app \\"NAME\\": upload the artifact first (PUT /v1/artifacts/${sha256})"}}`,
    );
    // claiming the hash with other bytes does not make B an uploader
    await expectError(await call("PUT", `/v1/artifacts/${sha256}`, { token: b.admin, body: modelBytes(bytes.length) }), 400, "hash_mismatch");
    expect((await call("POST", `/v1/models/x/versions`, { token: b.admin, json: { manifest: manifestFor("x", sha256, size) } })).status).toBe(409);
    await expectError(await call("GET", `/v1/artifacts/${sha256}`, { token: b.ingest }), 404, "not_found");
    // B holding the very bytes may upload them (200, nothing rewritten) and then use them
    const own = await call("PUT", `/v1/artifacts/${sha256}`, { token: b.admin, body: bytes });
    expect(await own.json()).toEqual({ sha256, size, created: false });
    expect((await call("POST", `/v1/models/x/versions`, { token: b.admin, json: { manifest: manifestFor("x", sha256, size) } })).status).toBe(201);
    expect((await call("GET", `/v1/artifacts/${sha256}`, { token: b.ingest })).status).toBe(200);
  });

  it("an app's admin may register only bytes its app uploaded; the bootstrap key uploads for an app with ?app=", async () => {
    const bytes = modelBytes();
    const sha = await upload(bytes); // bootstrap, for no app
    const manifest = (m: string) => ({ manifest: manifestFor(m, sha, bytes.length) });
    const name = unique("boot");
    expect((await call("POST", `/v1/models/${name}/versions`, { token: a.admin, json: manifest(name) })).status).toBe(409);
    expect((await call("PUT", `/v1/artifacts/${sha}?app=${a.app}`, { token: BOOTSTRAP, body: bytes })).status).toBe(200);
    expect((await call("POST", `/v1/models/${name}/versions`, { token: a.admin, json: manifest(name) })).status).toBe(201);
    // an app admin cannot upload for another app
    await expectError(await call("PUT", `/v1/artifacts/${sha}?app=${b.app}`, { token: a.admin, body: bytes }), 403, "forbidden");
  });

  it("a body whose hash mismatches leaves nothing in R2 (the bucket listed before and after)", async () => {
    const keys = async () => {
      const listed: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await env.ARTIFACTS.list({ cursor, limit: 1000 });
        listed.push(...page.objects.map((o) => o.key));
        cursor = page.truncated ? page.cursor : undefined;
      } while (cursor);
      return listed.sort();
    };
    const before = await keys();
    const claimed = await sha256Hex(modelBytes(4096));
    await expectError(await call("PUT", `/v1/artifacts/${claimed}`, { token: a.admin, body: modelBytes(4096) }), 400, "hash_mismatch");
    expect(await keys()).toEqual(before);
    const uploads = await env.DB.prepare("select count(*) as n from artifact_uploads where sha256 = ?").bind(claimed).first<{ n: number }>();
    expect(uploads!.n).toBe(0);
  });
});
