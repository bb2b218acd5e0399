// runtime/download.ts and the collector API over it (runtime/api.ts): every download is bounded by
// a stall and a byte limit, whatever the server or the app's transport does. Faults found by an
// attacker's pass over the first version of these limits; each test failed on it.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { createApi } from "../../../runtime/api.ts";
import { download } from "../../../runtime/download.ts";
import { modelBytes } from "../../../runtime/model-loader.ts";
import type { Transport } from "../../../runtime/types.ts";

/** A body of 64 KiB chunks without end (a safety stop at 256 MiB); `pulled` counts what was read. */
function endlessBody() {
  let pulled = 0;
  const chunk = new Uint8Array(64 << 10).fill(0x20);
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (pulled >= 256 << 20) return c.close();
      pulled += chunk.length;
      c.enqueue(chunk.slice());
    },
  });
  return { body, pulled: () => pulled };
}

const transportOf = (fetch: Transport["fetch"]): Transport => ({ fetch, beacon: () => false });

/** A body of chunks of these sizes. */
const bodyOf = (sizes: number[]) =>
  new ReadableStream<Uint8Array>({
    start(c) {
      for (const n of sizes) c.enqueue(new Uint8Array(n));
      c.close();
    },
  });

describe("download limits", () => {
  it("passes exactly maxBytes in any chunking, and refuses one byte more with `integrity`", async () => {
    const ok = await download("x", 1000, 10, async () => new Response(bodyOf([3, 0, 7])));
    expect((await ok.read()).length).toBe(10);
    const over = await download("x", 1000, 10, async () => new Response(bodyOf([10, 1])));
    await expect(over.read()).rejects.toMatchObject({ code: "integrity", message: "x: more than 10 bytes" });
  });

  it("reads an error answer of the model's host no further than the model's size", async () => {
    const { body, pulled } = endlessBody();
    const api = createApi(
      "http://c.test",
      "k",
      transportOf(async () => new Response(body, { status: 500 })),
      2_000,
    );
    await expect(api.artifact("https://cdn.test/model.onnx", 1000)).rejects.toMatchObject({ code: "unavailable", status: 500 });
    expect(pulled()).toBeLessThan(1 << 20);
  });

  it("stops a stalled download whose transport does not pass the signal on", async () => {
    // the body stalls after one chunk; the transport drops init.signal (as a wrapper may)
    const api = createApi(
      "http://c.test",
      "k",
      transportOf(async () => new Response(new ReadableStream({ start: (c) => c.enqueue(new Uint8Array(10)) }))),
      200,
    );
    const outcome = await Promise.race([
      api.artifact("/v1/artifacts/x", 1000).then(
        () => "done",
        (e: Error) => `rejected: ${e.message}`,
      ),
      new Promise((resolve) => setTimeout(() => resolve("still waiting after 3 s"), 3000)),
    ]);
    expect(outcome).toBe("rejected: /v1/artifacts/x: nothing arrived for 200 ms");
  });

  it("reads an answer without a body as no bytes (which then fail the model's hash)", async () => {
    const api = createApi(
      "http://c.test",
      "k",
      transportOf(async () => new Response(null, { status: 200 })),
      500,
    );
    expect(await api.artifact("/v1/artifacts/x", 1000)).toEqual(new Uint8Array());
  });

  it("names the URL once in a stall's error", async () => {
    const hang: Transport["fetch"] = (_url, init) => new Promise((_, no) => init!.signal!.addEventListener("abort", () => no(init!.signal!.reason)));
    const err = (await createApi("http://c.test", "k", transportOf(hang), 100)
      .artifact("/v1/artifacts/abc", 1000)
      .catch((e: Error) => e)) as Error;
    expect(err).toMatchObject({ code: "network", message: "/v1/artifacts/abc: nothing arrived for 100 ms" });
  });

  it("does not take an error answer's own code `integrity` for the model's", async () => {
    const store = { get: async () => undefined, put: async () => {}, delete: async () => {} };
    const answer = JSON.stringify({ error: { code: "integrity", message: "tampered" } });
    const api = createApi(
      "http://c.test",
      "k",
      transportOf(async () => new Response(answer, { status: 404 })),
      500,
    );
    await expect(api.artifact("https://cdn.test/m.onnx", 100)).rejects.toMatchObject({ code: "network", status: 404 });
    const err = await modelBytes({ api, store } as never, { sha256: "a".repeat(64), size: 100 } as never, "https://cdn.test/m.onnx").catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "download" });
  });

  it("hangs up on a download refused for its status (a real server that never ends the answer)", async () => {
    let closed = false;
    const server = createServer((_req, res) => {
      res.on("close", () => (closed = true));
      res.writeHead(404, { "content-type": "text/plain" });
      res.write("not here"); // …and nothing more
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/driftline-logging.js`;
    try {
      await expect(download(url, 200, 1 << 20, (signal) => fetch(url, { signal }))).rejects.toThrow(`${url}: HTTP 404`);
      await expect.poll(() => closed, { timeout: 1500 }).toBe(true);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
