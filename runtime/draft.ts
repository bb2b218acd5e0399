import { toBase64 } from "../protocol/sketch/codec.ts";
import type { AnySketch } from "../protocol/sketch/kinds.ts";
import type { Report } from "./types.ts";

/** Fields of a report (or of its `shadow` part) that hold one sketch each. */
const SKETCH_FIELDS = ["prediction", "latency", "errors", "confusion", "residual", "delta", "embedding"] as const;
type SketchField = (typeof SKETCH_FIELDS)[number];
type Sketches = Partial<Record<SketchField, AnySketch>>;

/**
 * A report whose sketches are still objects. Queued reports merge as drafts and are encoded
 * (see {@link toWire}) for the collector: the device never decodes a sketch, so the runtime
 * ships no decoder.
 */
export type Draft = Omit<Report, "features" | "shadow" | SketchField> &
  Sketches & {
    features: Record<string, AnySketch>;
    shadow?: Omit<NonNullable<Report["shadow"]>, SketchField> & Sketches;
  };

type Holder = Sketches & Record<string, unknown>;

/**
 * `a.merge(b)`, for two sketches of one field, so of one kind (the registry's `mergeSketch`
 * checks the kinds too; here the field does, and the bundle stays without it).
 */
const mergeSameKind = (a: AnySketch, b: AnySketch) => (a as { merge(b: AnySketch): AnySketch }).merge(b);

function mergeFields(into: Holder, from: Holder, keys: readonly string[]) {
  for (const k of keys) {
    const b = from[k] as AnySketch | undefined;
    if (b) into[k] = into[k] ? mergeSameKind(into[k] as AnySketch, b) : b;
  }
}

/**
 * Folds draft `b` into draft `a` (same model, version, role, client, segment and sample
 * rate): rows add, the period widens, every sketch merges. `a` keeps its id.
 *
 * @param a - the draft kept
 * @param b - the draft folded in (its sketches may end up in `a`: drop it)
 * @returns a
 */
export function mergeDrafts(a: Draft, b: Draft): Draft {
  a.rows += b.rows;
  a.start = Math.min(a.start, b.start);
  a.end = Math.max(a.end, b.end);
  mergeFields(a, b, SKETCH_FIELDS);
  mergeFields(a.features, b.features, Object.keys(b.features));
  if (b.shadow) {
    if (!a.shadow) a.shadow = b.shadow;
    else {
      a.shadow.rows += b.shadow.rows;
      a.shadow.agree = (a.shadow.agree ?? 0) + (b.shadow.agree ?? 0);
      mergeFields(a.shadow, b.shadow, SKETCH_FIELDS);
    }
  }
  return a;
}

const encode = (s: AnySketch) => toBase64(s.encode());

function encodeFields<T extends Holder>(from: T): Record<string, unknown> {
  const out: Record<string, unknown> = { ...from };
  for (const k of SKETCH_FIELDS) if (from[k]) out[k] = encode(from[k]);
  return out;
}

/**
 * The report as the collector takes it: every sketch encoded (base64).
 *
 * @param d - the draft
 */
export function toWire(d: Draft): Report {
  const features: Record<string, string> = {};
  for (const k in d.features) features[k] = encode(d.features[k]!);
  return { ...encodeFields(d), features, ...(d.shadow && { shadow: encodeFields(d.shadow) }) } as Report;
}
