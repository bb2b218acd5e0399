import type { Caller } from "../env.ts";
import type { Db } from "../db/client.ts";
import { findModel, findModels, findModelsNamed, type ModelRow } from "../db/models.ts";
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
  if (!model) throw noModel(name);
  return model;
}

/** The 404 of a model the caller cannot see, the same whether it exists in another app or nowhere. */
const noModel = (name: string) => new ApiError(404, "not_found", `no model "${name}"`);

/** Models cached at most by {@link cachedModel}; past it the cache starts over. */
const MODEL_CACHE_SIZE = 10_000;
const cache = new Map<string, Pick<ModelRow, "id" | "name">>();

/** The cache's key of a name as an app key asks for it; undefined for the bootstrap key, which is not cached. */
const cacheKey = (caller: Caller, name: string, app: string | undefined) => (caller.bootstrap ? undefined : `${caller.app}\n${app ?? ""}\n${name}`);

function remember(key: string, model: Pick<ModelRow, "id" | "name">): void {
  if (cache.size >= MODEL_CACHE_SIZE) cache.clear();
  cache.set(key, model);
}

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
  const key = cacheKey(caller, name, app);
  const hit = key === undefined ? undefined : cache.get(key);
  if (hit) return hit;
  const { id, name: modelName } = await accessModel(db, caller, name, app);
  if (key !== undefined) remember(key, { id, name: modelName });
  return { id, name: modelName };
}

/**
 * {@link cachedModel} of each of `names` at once, each the model or the ApiError
 * {@link accessModel} would throw for it. For an app key the names not cached are read in one
 * statement (per 90 names: `findModels`), so what a batch of reports costs D1 does not grow with
 * the names a sender makes up: before, each name the app has no model of was a statement of its
 * own, 100 in one request. The bootstrap key's names are resolved one by one, as
 * {@link accessModel} does (it belongs to no app).
 *
 * @param db - drizzle handle
 * @param caller - the authenticated caller
 * @param names - model names (distinct)
 * @param app - the app the request names (`?app=`), if any
 */
export async function cachedModels(db: Db, caller: Caller, names: readonly string[], app?: string): Promise<Map<string, Pick<ModelRow, "id" | "name"> | ApiError>> {
  const out = new Map<string, Pick<ModelRow, "id" | "name"> | ApiError>();
  if (caller.bootstrap) {
    for (const name of names) out.set(name, await cachedModel(db, caller, name, app).catch((err: unknown) => (err instanceof ApiError ? err : Promise.reject(err))));
    return out;
  }
  const missing = names.filter((name) => {
    const hit = cache.get(cacheKey(caller, name, app)!);
    if (hit) out.set(name, hit);
    return !hit;
  });
  // naming another app than the key's own sees none of its models, as in accessModel
  const found = missing.length === 0 || (app !== undefined && app !== caller.app) ? [] : await findModels(db, caller.app!, missing);
  const byName = new Map(found.map((m) => [m.name, { id: m.id, name: m.name }]));
  for (const name of missing) {
    const model = byName.get(name);
    if (model) remember(cacheKey(caller, name, app)!, model);
    out.set(name, model ?? noModel(name));
  }
  return out;
}
