import type { Caller } from "../env.ts";
import type { Db } from "../db/client.ts";
import { findModel, findModelsNamed, type ModelRow } from "../db/models.ts";
import { ApiError } from "../errors.ts";

/**
 * The model `name` of the caller's app: the one place a name from a request becomes a model
 * (whose `id` is the key everything behind the route uses). A key of an app sees only its app's
 * models: another app's model, or naming another app in `app`, is the same 404 as a model that
 * does not exist, so names do not leak between apps. The bootstrap key belongs to no app: it
 * names one with `app` (`?app=`), or else gets the only model of that name (400 `validation`
 * listing the apps when several have one, and how to name one, in the CLI too).
 *
 * @param db - drizzle handle
 * @param caller - the authenticated caller
 * @param name - the model name
 * @param app - the app the request names (`?app=`), if any
 */
export async function accessModel(db: Db, caller: Caller, name: string, app?: string): Promise<ModelRow> {
  let model: ModelRow | undefined;
  if (!caller.bootstrap) model = app === undefined || app === caller.app ? await findModel(db, caller.app!, name) : undefined;
  else if (app !== undefined) model = await findModel(db, app, name);
  else {
    const named = await findModelsNamed(db, name);
    if (named.length > 1) {
      throw new ApiError(400, "validation", `model "${name}" exists in apps ${named.map((m) => `"${m.app}"`).join(", ")}: name one with ?app= (driftline: --app or DRIFTLINE_APP)`);
    }
    model = named[0];
  }
  if (!model) throw new ApiError(404, "not_found", `no model "${name}"`);
  return model;
}

/** Models cached at most by {@link cachedModel}; past it the cache starts over. */
const MODEL_CACHE_SIZE = 10_000;
const cache = new Map<string, Pick<ModelRow, "id" | "name">>();

/**
 * {@link accessModel}'s key and name of the model, remembered per isolate for app keys (a model's
 * key and name never change, and no model is ever deleted): the routes every page calls (reports,
 * assignment) then read no model row, which matters when a rollout change sends every subscribed
 * page for its assignment at once. Refusals are not remembered.
 *
 * @param db - drizzle handle
 * @param caller - the authenticated caller
 * @param name - the model name
 * @param app - the app the request names (`?app=`), if any
 */
export async function cachedModel(db: Db, caller: Caller, name: string, app?: string): Promise<Pick<ModelRow, "id" | "name">> {
  const key = caller.bootstrap ? undefined : `${caller.app}\n${app ?? ""}\n${name}`;
  const hit = key === undefined ? undefined : cache.get(key);
  if (hit) return hit;
  const { id, name: modelName } = await accessModel(db, caller, name, app);
  if (key !== undefined) {
    if (cache.size >= MODEL_CACHE_SIZE) cache.clear();
    cache.set(key, { id, name: modelName });
  }
  return { id, name: modelName };
}
