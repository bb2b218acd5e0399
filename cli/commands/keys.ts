import type { KeyView } from "../../protocol/api.ts";
import { request, connection } from "../api.ts";
import { CONNECTION_OPTIONS, UsageError, onePositional, parse } from "../args.ts";
import { table } from "../format.ts";
import type { Command } from "./command.ts";


const USAGE = `driftline keys create --app APP --role ingest|read|admin [--label TEXT]
driftline keys list [--app APP]
driftline keys revoke <id>

  create   prints a new key once (only its hash is stored): ingest keys go into web pages,
           read keys into dashboards and Prometheus, admin keys into CI
  list     keys with their prefix, role and state (never the key itself)
  revoke   the key stops working at once
  --url URL --key KEY   the collector and an admin key (default: DRIFTLINE_URL, DRIFTLINE_ADMIN_KEY)`;

/** `driftline keys create | list | revoke`. */
export const keys: Command = {
  name: "keys",
  summary: "create, list and revoke API keys",
  usage: USAGE,
  async run(argv) {
    const [action, ...rest] = argv;
    const { values, positionals } = parse(rest, { ...CONNECTION_OPTIONS, role: { type: "string" }, label: { type: "string" } });
    if (action === "create") {
      if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
      if (!values.app) throw new UsageError("missing --app APP");
      if (!values.role || !["ingest", "read", "admin"].includes(values.role)) throw new UsageError("--role must be ingest, read or admin");
      const body = { app: values.app, role: values.role, ...(values.label ? { label: values.label } : {}) };
      const created = await request<KeyView & { token: string }>(connection(values), "/v1/keys", { method: "POST", json: body });
      console.error(`${created.role} key ${created.id} for app ${created.app} (shown once; store it now):`);
      console.log(created.token);
    } else if (action === "list") {
      if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
      // --app goes out as ?app= (see connection)
      const list = await request<{ keys: KeyView[] }>(connection(values), "/v1/keys");
      console.log(table(["id", "app", "role", "prefix", "label", "created", "state"], list.keys.map((k) => [k.id, k.app, k.role, k.prefix, k.label ?? "", k.createdAt, k.revokedAt ? `revoked ${k.revokedAt}` : "active"])));
    } else if (action === "revoke") {
      const id = onePositional(positionals, "the key id");
      const revoked = await request<KeyView>(connection(values), `/v1/keys/${encodeURIComponent(id)}`, { method: "DELETE" });
      console.log(`revoked ${revoked.role} key ${revoked.id} (${revoked.prefix}…) of app ${revoked.app}`);
    } else {
      throw new UsageError(action ? `unknown keys action "${action}"` : "missing action: create, list or revoke");
    }
  },
};
