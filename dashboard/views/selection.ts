import { clock } from "../format.ts";
import type { ModelRef } from "../model-ref.ts";
import type { WindowQuery } from "../types.ts";
import type { Window } from "../windows.ts";

/** What the model page's drift and distribution sections show: a version, role and segment over windows. */
export interface Selection {
  model: ModelRef;
  version: number;
  role: "live" | "shadow";
  /** Canonical `key:value`, empty for all traffic. */
  segment: string;
  windows: Window[];
}

/** The query of one window of a selection. */
export function windowQuery(sel: Selection, w: Window): WindowQuery {
  return { model: sel.model, version: sel.version, role: sel.role, segment: sel.segment, from: w.from, to: w.to };
}

/** Column labels of the windows: their start times. */
export function windowLabels(windows: readonly Window[]): string[] {
  const long = windows.length > 0 && windows[0]!.to - windows[0]!.from >= 3_600_000;
  return windows.map((w) => clock(w.from, long && new Date(w.from).getHours() === 0));
}
