import { createWriteStream } from "node:fs";
import { once } from "node:events";
import { Readable } from "node:stream";
import { connection, request, requestRaw } from "../api.ts";
import { queryTime, rolloutViewSchema } from "../../protocol/api.ts";
import { CONNECTION_OPTIONS, UsageError, intFlag, onePositional, parse, takeAction } from "../args.ts";
import { parseDuration } from "./drift.ts";
import type { Command } from "./command.ts";

const USAGE = `driftline logs export <model> [--since 1d | --from TIME [--to TIME]] [--version V] [-o rows.ndjson]

Writes the rows clients logged for offline analysis (docs/privacy.md "Prediction logging") as
NDJSON, one row a line: id, version, t (epoch ms), segment, inputs as sent, label, score, and
actual (the label fed back), each row once. A range of more log objects than one request reads
(the collector's LOG_EXPORT_MAX_OBJECTS) comes in pages, each said on stderr. Logging is off until the model has a log rate
(driftline rollout <model> --log-rate R) and the app passes createRuntime({ logging: true }).

  --since D       how far back: 30m, 1h, 7d (default 1d)
  --from, --to    the range as ISO 8601 times or epoch ms (instead of --since)
  --version V     only rows of this version
  -o, --output F  the file to write (default: standard output)
  --url URL --key KEY   the collector and a read or admin key
  --app APP             the model's app (bootstrap admin key only; default: DRIFTLINE_APP)`;

/**
 * Epoch milliseconds of a `--from`/`--to` value, read as the collector reads it (protocol's
 * `queryTime`); a UsageError when it would refuse it.
 *
 * @param text - the flag's text
 * @param flag - its name
 */
function timeFlag(text: string, flag: string): number {
  const ms = queryTime(text);
  if (ms === undefined) throw new UsageError(`--${flag} takes epoch milliseconds or an ISO 8601 date-time like 2026-12-01T00:00:00Z, got "${text}"`);
  return ms;
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
    if (values.from) query.set("from", String(timeFlag(values.from, "from")));
    else query.set("from", String(Date.now() - parseDuration(values.since ?? "1d")));
    if (values.to) query.set("to", String(timeFlag(values.to, "to")));
    if (values.version) query.set("version", String(intFlag(values.version, "version", 1, 1e9)));
    const conn = connection(values);
    // made once the collector has answered: a failed export leaves no file behind
    let out: NodeJS.WritableStream | undefined;
    let rows = 0;
    let dropped = 0;
    // one page per request (LOG_EXPORT_MAX_OBJECTS objects): the collector names where the next starts
    for (let page = 1, after: string | null = null; ; page++) {
      if (after) query.set("after", after);
      const res = await requestRaw(conn, `/v1/logs?${query}`, { accept: "application/x-ndjson" });
      out ??= values.output ? createWriteStream(values.output) : process.stdout;
      for await (const chunk of Readable.fromWeb(res.body as import("node:stream/web").ReadableStream) as AsyncIterable<Buffer>) {
        for (const byte of chunk) if (byte === 10) rows++;
        if (!out.write(chunk)) await once(out, "drain");
      }
      dropped += Number(res.headers.get("Driftline-Dropped")) || 0;
      after = res.headers.get("Driftline-Next");
      if (!after) break;
      console.error(`${model}: ${rows} rows after page ${page}, more to come`);
    }
    if (out && out !== process.stdout) await new Promise<void>((done) => out.end(() => done()));
    // no rows: say so when it is because the model logs nothing
    const off = rows === 0 && !(await request(conn, `/v1/models/${encodeURIComponent(model)}/rollout`, { answer: rolloutViewSchema })).logRate;
    console.error(
      `${model}: ${rows} rows${values.output ? ` written to ${values.output}` : ""}${dropped ? `; devices dropped ${dropped} sampled rows from full buffers` : ""}${off ? `; logging is off: driftline rollout ${model} --log-rate R turns it on for apps that pass createRuntime({ logging: true })` : ""}`,
    );
  },
};
