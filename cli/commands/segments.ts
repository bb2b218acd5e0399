import { segmentsAnswerSchema, segmentsResetSchema } from "../../protocol/api.ts";
import { request, connection } from "../api.ts";
import { CONNECTION_OPTIONS, onePositional, parse, takeAction } from "../args.ts";
import { table } from "../format.ts";
import type { Command } from "./command.ts";

const USAGE = `driftline segments list <model>
driftline segments reset <model> [--segment KEY]

  list     each segment key and its admitted values (the rest report as "other")
  reset    forgets the admitted values of segment key KEY (or of every key), e.g. after junk filled it;
           aggregators read them again within 2 s and admit later values afresh
  --url URL --key KEY   the collector and an admin key (default: DRIFTLINE_URL, DRIFTLINE_ADMIN_KEY)
  --app APP             the model's app (bootstrap admin key only; default: DRIFTLINE_APP)`;

/** `driftline segments list | reset`. */
export const segments: Command = {
  name: "segments",
  summary: "list a model's segment values, reset a polluted segment key",
  usage: USAGE,
  async run(argv) {
    const [action, rest] = takeAction(argv, ["list", "reset"]);
    // --key is the API key of every command, so the segment key is --segment
    const { values, positionals } = parse(rest, { ...CONNECTION_OPTIONS, segment: { type: "string" } });
    const model = onePositional(positionals, "the model");
    const query = `model=${encodeURIComponent(model)}`;
    if (action === "list") {
      const answer = await request(connection(values), `/v1/segments?${query}`, { answer: segmentsAnswerSchema });
      console.log(
        table(
          ["key", "values"],
          Object.entries(answer.segments).map(([k, v]) => [k, v.join(", ")]),
        ),
      );
    } else {
      const key = values.segment;
      const answer = await request(connection(values), `/v1/segments?${query}${key ? `&key=${encodeURIComponent(key)}` : ""}`, { method: "DELETE", answer: segmentsResetSchema });
      console.log(`${model}: forgot ${answer.deleted} admitted value${answer.deleted === 1 ? "" : "s"} of ${key ? `segment key ${key}` : "every segment key"}`);
    }
  },
};
