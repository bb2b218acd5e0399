import { loadModel, type Model, type ReadAhead } from "./model-loader.ts";
import type { Settings } from "./runtime-state.ts";
import type { Assignment } from "./types.ts";

/** The version a start serves first, and what is left for the updates after it. */
export interface FirstVersion {
  /** The version that answers once the start returns. */
  live: Model;
  /** Its assignment. */
  current: Assignment;
  /** The collector's assignment when its version was still loading as the kept one began to serve: applied next (an `update` once loaded). */
  pending?: { assignment: Assignment; loading: Promise<Model> } | undefined;
  /** A load that failed while another version could serve: reported once the runtime runs. */
  failed?: unknown;
}

/**
 * Chooses and loads the version a start serves. The collector's assignment names it; offline
 * (or the collector down) the assignment kept from the last start does, its bytes read while the
 * assignment is fetched. With a version kept on the device and the collector naming another, the
 * start waits for the new one no longer than `timeoutMs` (a big model on a slow link): the kept
 * one serves and the new one, loading on, is `pending`. If the kept one then fails to load, the
 * start waits for the new one after all, as it does without one kept.
 *
 * @param settings - the runtime's settings (API, store, clock, `timeoutMs`) and loader context
 * @param client - the client id the assignment is asked for
 * @param kept - the assignment stored by the last start, if it names a model
 * @throws the assignment's or the load's error when no version can serve
 */
export async function firstVersion(settings: Settings, client: string, kept: Assignment | undefined): Promise<FirstVersion> {
  const { api, store, clock, model } = settings;
  const ahead: ReadAhead | undefined = kept && { sha256: kept.manifest.sha256, bytes: store.get<Uint8Array>("models", kept.manifest.sha256).catch(() => undefined) };
  const fresh = await api.assignment(model, client).catch((err) => {
    if (!kept) throw err;
  });
  let current = fresh ?? kept!;
  let failed: unknown;
  const loading = loadModel(settings, current, ahead);
  const late = kept && fresh && fresh.manifest?.sha256 !== kept.manifest.sha256 ? [new Promise<undefined>((resolve) => clock.setTimeout(() => resolve(undefined), settings.timeoutMs))] : [];
  let live = await Promise.race([loading, ...late]).catch((err: unknown) => {
    if (!kept || current === kept) throw err;
    failed = err;
  });
  const pending = live || failed ? undefined : { assignment: fresh!, loading };
  live ??= await loadModel(settings, (current = kept!), ahead).catch((err: unknown) => {
    if (!pending) throw err;
    failed = err;
    current = fresh!;
    return loading;
  });
  return { live, current, pending, failed };
}
