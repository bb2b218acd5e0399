import type { ModelStore, StoreArea } from "./types.ts";

/** A {@link ModelStore} in memory: for Node, tests, and when IndexedDB is unusable. */
export function memoryStore(): ModelStore {
  const maps: Record<string, Map<string, unknown>> = {};
  const m = (area: StoreArea) => (maps[area] ??= new Map());
  return {
    get: async <T>(area: StoreArea, key: string) => m(area).get(key) as T | undefined,
    put: async (area, key, value) => void m(area).set(key, value),
    delete: async (area, key) => void m(area).delete(key),
    keys: async (area) => [...m(area).keys()],
  };
}

const promised = <T>(req: IDBRequest<T>) =>
  new Promise<T>((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });

/**
 * A {@link ModelStore} on IndexedDB (raw API: smaller than any wrapper). Resolves to a memory
 * store, with a warning, when IndexedDB is missing, blocked or fails to open: storage fails
 * softly, the network still works.
 *
 * @param name - database name
 * @defaultValue name `"driftline"`
 */
export async function idbStore(name = "driftline"): Promise<ModelStore> {
  let db: IDBDatabase;
  try {
    const req = indexedDB.open(name, 1);
    req.onupgradeneeded = () => ["models", "meta", "queue"].forEach((a) => req.result.createObjectStore(a));
    db = await new Promise<IDBDatabase>((resolve, reject) => {
      req.onblocked = reject;
      promised(req).then(resolve, reject);
    });
  } catch (err) {
    console.warn("driftline: no IndexedDB", err);
    return memoryStore();
  }
  const run = <T>(area: StoreArea, op: (s: IDBObjectStore) => IDBRequest<T>, write?: 1) =>
    promised(op(db.transaction(area, write ? "readwrite" : "readonly", { durability: "relaxed" }).objectStore(area)));
  return {
    // async: a closed database throws synchronously, and callers only `.catch` rejections
    get: async (area, key) => run(area, (s) => s.get(key)),
    put: async (area, key, value) => void (await run(area, (s) => s.put(value, key), 1)),
    delete: async (area, key) => void (await run(area, (s) => s.delete(key), 1)),
    keys: async (area) => (await run(area, (s) => s.getAllKeys())) as string[],
  };
}

/**
 * The default store: IndexedDB when `cache` and the platform has it, else memory.
 *
 * @param cache - whether to persist
 */
export function defaultStore(cache: boolean): Promise<ModelStore> {
  return cache && typeof indexedDB !== "undefined" ? idbStore() : Promise.resolve(memoryStore());
}
