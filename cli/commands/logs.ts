import { createWriteStream } from "node:fs";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { connection, requestRaw } from "../api.ts";
import { CONNECTION_OPTIONS, UsageError, intFlag, onePositional, parse, takeAction } from "../args.ts";
import { parseDuration } from "./drift.ts";
import type { Command } from "./command.ts";

const USAGE = `driftline logs export <model> [--since 1d | --from TIME [--to TIME]] [--version V] [-o rows.ndjson]

Writes the rows clients logged for offline analysis (docs/privacy.md "Prediction logging") as
NDJSON, one row a line: id, version, t (epoch ms), segment, inputs as sent, label, score, and
actual (the label fed back), each row once. Logging is off until the model has a log rate
(driftline rollout <model> --log-rate R) and the app passes createRuntime({ logging: true }).

  --since D       how far back: 30m, 1h, 7d (default 1d)
  --from, --to    the range as ISO 8601 times or epoch ms (instead of --since)
  --version V     only rows of this version
  -o, --output F  the file to write (default: standard output)
  --url URL --key KEY   the collector and a read or admin key`;

/** Counts the lines (rows) that pass through. */
function lineCounter(): Transform & { lines: number } {
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      for (const byte of chunk) if (byte === 10) counter.lines++;
      done(null, chunk);
    },
  }) as Transform & { lines: number };
  counter.lines = 0;
  return counter;
}

/** `driftline logs export`: GET /v1/logs to a file. */
export const logs: Command = {
  name: "logs",
  summary: "export the rows clients logged for offline analysis",
  usage: USAGE,
  async run(argv) {
    const [, rest] = takeAction(argv, ["export"]);
    const { values, positionals } = parse(rest, {
      ...CONNECTION_OPTIONS,
      since: { type: "string" },
      from: { type: "string" },
      to: { type: "string" },
      version: { type: "string" },
      output: { type: "string", short: "o" },
    });
    const model = onePositional(positionals, "the model name");
    if (values.since && (values.from || values.to)) throw new UsageError("give --since or --from/--to, not both");
    const query = new URLSearchParams({ model });
    if (values.from) query.set("from", values.from);
    else query.set("from", String(Date.now() - parseDuration(values.since ?? "1d")));
    if (values.to) query.set("to", values.to);
    if (values.version) query.set("version", String(intFlag(values.version, "version", 1, 1e9)));
    const res = await requestRaw(connection(values), `/v1/logs?${query}`);
    const counter = lineCounter();
    await pipeline(Readable.fromWeb(res.body as import("node:stream/web").ReadableStream), counter, values.output ? createWriteStream(values.output) : process.stdout);
    const dropped = Number(res.headers.get("Driftline-Dropped")) || 0;
    console.error(`${model}: ${counter.lines} rows${values.output ? ` written to ${values.output}` : ""}${dropped ? `; devices dropped ${dropped} sampled rows from full buffers` : ""}`);
  },
};
