// A CPU profile of the collector's own isolate (its routes and Durable Objects) under a bench,
// taken through wrangler dev's DevTools inspector (Chrome DevTools protocol, Profiler domain).
// The file opens in Chrome DevTools (Performance) or any .cpuprofile viewer.
import { writeFileSync } from "node:fs";
import WebSocket from "ws";

/**
 * Starts profiling the collector's isolate behind wrangler's inspector on `port`.
 * @param {number} port the collector's `inspectorPort`
 * @returns {Promise<{ stop: (file: string) => Promise<void> }>} stop writes the profile to `file`
 */
export async function profileCollector(port) {
  /** @type {{ webSocketDebuggerUrl: string }[]} */
  const targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
  if (!targets[0]) throw new Error(`no inspector target on port ${port}`);
  const ws = new WebSocket(targets[0].webSocketDebuggerUrl);
  /** @type {Map<number, (result: any) => void>} */
  const waiting = new Map();
  ws.on("message", (data) => {
    const message = JSON.parse(String(data));
    waiting.get(message.id)?.(message.result);
    waiting.delete(message.id);
  });
  await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
  let id = 0;
  /** @type {(method: string, params?: object) => Promise<any>} */
  const send = (method, params = {}) =>
    new Promise((resolve) => {
      waiting.set(++id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await send("Profiler.enable");
  // 200 µs between samples (the default 1 ms misses most sketch work)
  await send("Profiler.setSamplingInterval", { interval: 200 });
  await send("Profiler.start");
  return {
    async stop(file) {
      const { profile } = await send("Profiler.stop");
      writeFileSync(file, JSON.stringify(profile));
      ws.close();
    },
  };
}
