import type { Aggregate } from "../aggregates/aggregate.ts";
import type { AttributedReport } from "../aggregates/sender-tally.ts";

/** What a later part shares with the first part of its report (runtime/split-report.ts). */
const SHARED = ["model", "version", "role", "client", "start", "end", "rows", "sampleRate", "sender"] as const;

/** What only the first part of a split report carries. */
const FIRST_PART_ONLY = ["prediction", "latency", "errors", "confusion", "residual", "embedding", "shadow"] as const;

/** A report of a batch that is to be logged: its aggregate and the segment it is filed under. */
export interface ToLog {
  report: AttributedReport;
  aggregate: Aggregate;
  segment: string;
}

/** The split reports of a batch whose parts weigh together: see {@link partGroups}. */
export interface PartGroups {
  /** Per first part (its index): the weight of its report, its parts' heaviest sketch. */
  weights: Map<number, number>;
  /** Per later part (its index): the index of its first part. */
  firstOf: Map<number, number>;
}

/**
 * How a part of a split report weighs in its sender's budget and tally ({@link partGroups}):
 * a first part at its group's heaviest sketch, scaled by its budget factor; a later part at that
 * same factor, and at what its sketches hold once scaled beyond what its group weighed so far.
 */
export type PartWeight = { later: false; heaviest: number } | { later: true; factor: number; weighed: number };

/**
 * The reports of one batch that the runtime split into parts (`part`), grouped with their first
 * part so they weigh in their sender's tally and budget once, as the whole report would: the
 * first part at its parts' heaviest sketch, the later ones at nothing but what scaling past the
 * budget leaves them beyond that (ModelAggregator's `log`). A later part joins its
 * first part only when that part came earlier in the same batch, from the same sender, with the
 * id `<first id>-<part>`, the same period, client, rows and segment, none of the sketches only a
 * first part carries, and features none of the group's other parts has. A sender gains nothing
 * by grouping (the whole report is allowed anyway); a part that cannot be shown to belong to its
 * first one weighs on its own, as every part did before.
 *
 * @param toLog - the batch's reports in order (`undefined`: not logged: a duplicate or refused)
 */
export function partGroups(toLog: readonly (ToLog | undefined)[]): PartGroups {
  const groups: PartGroups = { weights: new Map(), firstOf: new Map() };
  const firsts = new Map<string, number>();
  const features = new Map<number, Set<string>>();
  toLog.forEach((item, i) => {
    if (!item || item.report.sender === undefined) return;
    const { report } = item;
    if (report.part === undefined) {
      firsts.set(report.id, i);
      return;
    }
    const suffix = `-${report.part}`;
    const f = report.id.endsWith(suffix) ? firsts.get(report.id.slice(0, -suffix.length)) : undefined;
    const first = f === undefined ? undefined : toLog[f]!;
    if (!first || first.segment !== item.segment || SHARED.some((k) => first.report[k] !== report[k])) return;
    if (FIRST_PART_ONLY.some((k) => report[k] !== undefined)) return;
    const names = features.get(f!) ?? new Set(Object.keys(first.report.features));
    if (Object.keys(report.features).some((name) => names.has(name))) return;
    for (const name of Object.keys(report.features)) names.add(name);
    features.set(f!, names);
    groups.firstOf.set(i, f!);
    groups.weights.set(f!, Math.max(groups.weights.get(f!) ?? first.aggregate.mass(), item.aggregate.mass()));
  });
  return groups;
}
