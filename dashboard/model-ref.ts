// Which model a page shows: names are unique per app, not overall.

/**
 * A model: its name, and its app. A key of one app sees only that app's models, but the
 * bootstrap key sees every app, and to it a name two apps share names no model without the app
 * (400 `validation`). `app` is absent only for an old `#/model/<name>` link, which the collector
 * resolves when one app the key sees has the name.
 */
export interface ModelRef {
  name: string;
  app?: string | undefined;
}

/**
 * A model's page: `#/model/<app>/<name>`, or `#/model/<name>` when the app is not known.
 *
 * @param m - the model
 */
export function modelHref(m: ModelRef): string {
  return `#/model/${m.app === undefined ? "" : `${encodeURIComponent(m.app)}/`}${encodeURIComponent(m.name)}`;
}

/**
 * The model a URL hash names ({@link modelHref}, the app left out in links from before models
 * were told apart by app), or null for the fleet.
 *
 * @param hash - `location.hash`
 */
export function modelOfHash(hash: string): ModelRef | null {
  const [, app, name] = /^#\/model\/(?:([^/]+)\/)?([^/]+)$/.exec(hash) ?? [];
  if (name === undefined) return null;
  return { name: decodeURIComponent(name), app: app === undefined ? undefined : decodeURIComponent(app) };
}
