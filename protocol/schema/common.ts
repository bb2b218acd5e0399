import { z } from "zod";
import { LIMITS } from "../limits.ts";

/**
 * A model name or an app id: letters, digits, `.`, `_`, `-`; starts with a letter or digit; ≤ 64
 * chars. A value that is none is refused with the rule, naming it as `what`.
 *
 * @param what - the value's name, with its article ("a model name")
 */
export const identifierSchema = (what: string) => z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, `${what} is 1 to 64 letters, digits, ".", "_" or "-", the first a letter or digit`);

/** A model name: {@link identifierSchema}. */
export const modelNameSchema = identifierSchema("a model name");

/** A model version number (assigned by the collector, from 1). */
export const versionSchema = z.int().min(1);

/** A feature, category, label or tensor name. */
export const nameSchema = z.string().min(1).max(LIMITS.nameLength);

/** One encoded sketch (base64 of a protocol/sketch `encode()`). */
export const sketchSchema = z.base64().max(LIMITS.reportBytes);

/** A fraction in (0, 1]. */
export const rateSchema = z.number().gt(0).lte(1);

/**
 * A record of at most `max` keys (a `too_big` issue, so it parses to `limit_exceeded`).
 *
 * @param key - key schema
 * @param value - value schema
 * @param max - most keys
 */
export function boundedRecord<K extends z.core.$ZodRecordKey, V extends z.ZodType>(key: K, value: V, max: number) {
  return z.record(key, value).check((ctx) => {
    if (Object.keys(ctx.value).length > max) {
      ctx.issues.push({ code: "too_big", origin: "object", maximum: max, input: ctx.value, message: `more than ${max} keys` });
    }
  });
}

/**
 * The message naming the first duplicate in `items` (by `key`), or undefined.
 *
 * @param items - the list
 * @param key - identity of an item
 * @param what - what the list holds, for the message
 */
export function findDuplicate<T>(items: readonly T[], key: (item: T) => string, what: string): string | undefined {
  const seen = new Set<string>();
  for (const item of items) {
    const k = key(item);
    if (seen.has(k)) return `duplicate ${what} "${k}"`;
    seen.add(k);
  }
  return undefined;
}
