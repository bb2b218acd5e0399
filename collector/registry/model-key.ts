/**
 * The internal key of a model: what every table, R2 manifest path and aggregator object name
 * uses for it. Names are unique per app, so the key is `app/name` (neither may contain `/`);
 * models created before names were scoped by app keep their bare name (migration 0003). Only the
 * route edge turns a caller's app and a name into a key; everything behind it treats the key as
 * an opaque string, and clients only ever see the name.
 */

/**
 * The key of a new model.
 *
 * @param app - the model's app
 * @param name - the model's name
 * @example
 * modelKey("acme", "churn") // "acme/churn"
 */
export function modelKey(app: string, name: string): string {
  return `${app}/${name}`;
}

/**
 * The name clients know a model by, from its key.
 *
 * @param key - the model's key
 * @example
 * modelName("acme/churn") // "churn"; modelName("churn") // "churn" (a model from before 0003)
 */
export function modelName(key: string): string {
  return key.slice(key.lastIndexOf("/") + 1);
}
