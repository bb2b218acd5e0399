import { type KeyView, keyCreatedSchema, keyListSchema, keyViewSchema } from "../../protocol/api.ts";
import { normalizeOrigin } from "../../protocol/origin.ts";
import { type Connection, NoAnswerError, request, connection } from "../api.ts";
import { CONNECTION_OPTIONS, CliError, UsageError, onePositional, parse, takeAction } from "../args.ts";
import { table } from "../format.ts";
import type { Command } from "./command.ts";

const USAGE = `driftline keys create --app APP --role ingest|read|admin [--label TEXT] [--origin ORIGIN]...
driftline keys list [--app APP]
driftline keys revoke <id>

  create   prints a new key once (only its hash is stored): ingest keys go into web pages,
           read keys into dashboards and Prometheus, admin keys into CI; when the collector's
           answer is lost, says whether it made the key (then revoke it) or not (run it again)
  --origin only pages of this origin (scheme://host[:port]) may use the ingest key; repeat it
           or give a comma list; without it any origin may (docs/security.md)
  list     keys with their prefix, role, origins and state (never the key itself)
  revoke   the key stops working (an ingest key within 10 s on every Worker isolate, which
           caches it; pages still using it lose their reports: rotate first, docs/registry.md);
           prints when it was revoked (a key revoked before keeps that time)
  --url URL --key KEY   the collector and an admin key (default: DRIFTLINE_URL, DRIFTLINE_ADMIN_KEY)`;

/**
 * The origins of `--origin` flags (repeated or comma lists), normalised; a UsageError names the
 * first one that is not `scheme://host[:port]`.
 *
 * @param flags - the flag values
 */
function originFlags(flags: string[]): string[] {
  return flags
    .flatMap((flag) => flag.split(","))
    .map((text) => {
      const origin = normalizeOrigin(text.trim());
      if (!origin) throw new UsageError(`--origin must be scheme://host[:port], e.g. https://app.example.com; got "${text.trim()}"`);
      return origin;
    });
}

/** What `keys create` asks for. */
interface KeyRequest {
  app: string;
  role: string;
  label?: string;
  origins?: string[];
}

/**
 * Creates a key. A create is never sent again (the collector may have made the key, whose token
 * only its answer carries): when its answer is lost, the error says whether the collector made
 * such a key all the same (active, of that app, role and label, made since the request by the
 * collector's clock give or take a minute), so the user revokes it rather than leaving a key
 * nobody holds, or runs the command again.
 *
 * @param conn - where and as whom
 * @param body - the key asked for
 */
async function createKey(conn: Connection, body: KeyRequest): Promise<KeyView & { token: string }> {
  const since = Date.now() - 60_000;
  try {
    return await request(conn, "/v1/keys", { method: "POST", json: body, answer: keyCreatedSchema });
  } catch (err) {
    if (!(err instanceof NoAnswerError && err.mayHaveArrived)) throw err;
    let made: KeyView[];
    try {
      made = (await request({ ...conn, app: body.app }, "/v1/keys", { answer: keyListSchema })).keys;
    } catch {
      throw new CliError(`${err.message}; it may have made the key all the same, whose token is then lost: see driftline keys list --app ${body.app}`);
    }
    const same = made.filter((k) => !k.revokedAt && k.role === body.role && (k.label ?? undefined) === body.label && Date.parse(k.createdAt) >= since);
    if (same.length === 0) throw new CliError(`${err.message}, and made no such key: run the command again`);
    const revoke = same.map((k) => `driftline keys revoke ${k.id}`).join("; ");
    throw new CliError(`${err.message}, but made ${body.role} key ${same.map((k) => k.id).join(", ")} all the same, whose token is lost: revoke it (${revoke}) and create another`);
  }
}

/** `driftline keys create | list | revoke`. */
export const keys: Command = {
  name: "keys",
  summary: "create, list and revoke API keys",
  usage: USAGE,
  async run(argv) {
    const [action, rest] = takeAction(argv, ["create", "list", "revoke"]);
    const { values, positionals } = parse(rest, { ...CONNECTION_OPTIONS, role: { type: "string" }, label: { type: "string" }, origin: { type: "string", multiple: true } });
    if (action === "create") {
      if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
      if (!values.app) throw new UsageError("missing --app APP");
      if (!values.role || !["ingest", "read", "admin"].includes(values.role)) throw new UsageError("--role must be ingest, read or admin");
      const origins = originFlags(values.origin ?? []);
      if (origins.length && values.role !== "ingest") throw new UsageError("--origin binds ingest keys only");
      const body = { app: values.app, role: values.role, ...(values.label ? { label: values.label } : {}), ...(origins.length ? { origins } : {}) };
      const created = await createKey(connection(values), body);
      console.error(`${created.role} key ${created.id} for app ${created.app} (shown once; store it now):`);
      console.log(created.token);
    } else if (action === "list") {
      if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
      // --app goes out as ?app= (see connection)
      const conn = connection(values);
      const list = await request(conn, "/v1/keys", { answer: keyListSchema });
      const origins = (k: KeyView) => (k.role !== "ingest" ? "" : (k.origins?.join(",") ?? "any"));
      if (list.keys.length === 0) {
        const { app } = conn;
        console.log(`no keys${app ? ` in app "${app}" (an app is made by its first key or model)` : ""}: driftline keys create --app ${app ?? "APP"} --role admin|ingest|read`);
        return;
      }
      console.log(
        table(
          ["id", "app", "role", "prefix", "label", "origins", "created", "state"],
          list.keys.map((k) => [k.id, k.app, k.role, k.prefix, k.label ?? "", origins(k), k.createdAt, k.revokedAt ? `revoked ${k.revokedAt}` : "active"]),
        ),
      );
    } else {
      const id = onePositional(positionals, "the key id");
      const revoked = await request(connection(values), `/v1/keys/${encodeURIComponent(id)}`, { method: "DELETE", answer: keyViewSchema });
      console.log(`revoked ${revoked.role} key ${revoked.id} (${revoked.prefix}…) of app ${revoked.app} at ${revoked.revokedAt}`);
    }
  },
};
