import { describe, expect, it } from "vitest";
import { Aggregate } from "../../../../collector/aggregates/aggregate.ts";
import type { AttributedReport } from "../../../../collector/aggregates/sender-tally.ts";
import { type ToLog, partGroups } from "../../../../collector/ingest/report-parts.ts";
import { ClassificationSketch, NumericSketch, toBase64 } from "../../../../protocol/sketch/index.ts";

/** A numeric sketch of `rows` values. */
function sketch(rows: number): string {
  const s = new NumericSketch();
  for (let i = 0; i < rows; i++) s.update(i);
  return toBase64(s.encode());
}

const prediction = toBase64(new ClassificationSketch(["no", "yes"]).encode());

/** The first part (features a, b and the prediction) and the later parts of a report of `rows` rows. */
function parts(id: string, rows = 30, later: string[][] = [["c", "d"]]): AttributedReport[] {
  const base = { model: "m", version: 1, role: "live" as const, client: "c1", start: 0, end: 1000, segment: {}, rows, sampleRate: 1, sender: 7 };
  return [
    { ...base, id, features: { a: sketch(rows), b: sketch(rows) }, prediction },
    ...later.map((names, i) => ({ ...base, id: `${id}-${i + 1}`, part: i + 1, features: Object.fromEntries(names.map((n) => [n, sketch(rows)])) })),
  ];
}

const toLog = (reports: AttributedReport[], segment = ""): ToLog[] => reports.map((report) => ({ report, aggregate: Aggregate.fromReport(report), segment }));

describe("partGroups", () => {
  it("groups the later parts of a batch with their first part, which weighs the heaviest sketch once", () => {
    const batch = toLog([...parts("x", 30, [["c"], ["d", "e"]]), ...parts("y", 10)]);
    const { weights, firstOf } = partGroups(batch);
    expect(Object.fromEntries(weights)).toEqual({ 0: 30, 3: 10 });
    expect(Object.fromEntries(firstOf)).toEqual({ 1: 0, 2: 0, 4: 3 });
  });

  it("leaves alone a part whose first part is not before it in the batch, or that differs from it", () => {
    const [first, later] = parts("x");
    const cases: [string, AttributedReport[]][] = [
      ["first part missing", [later!]],
      ["first part after it", [later!, first!]],
      ["another id", [first!, { ...later!, id: "x-2" }]],
      ["another sender", [first!, { ...later!, sender: 8 }]],
      ["another period", [first!, { ...later!, end: 2000 }]],
      ["other rows", [first!, { ...later!, rows: 31 }]],
      ["a sketch only first parts carry", [first!, { ...later!, prediction }]],
      ["a feature of the first part", [first!, { ...later!, features: { ...later!.features, a: sketch(30) } }]],
      [
        "no sender",
        [
          { ...first!, sender: undefined },
          { ...later!, sender: undefined },
        ],
      ],
    ];
    for (const [why, batch] of cases) expect(partGroups(toLog(batch)).firstOf.size, why).toBe(0);
    // nor one filed under another segment, nor a second part repeating the first one's feature
    const segments: ToLog[] = [...toLog([first!]), ...toLog([later!], "country=fr")];
    expect(partGroups(segments).firstOf.size).toBe(0);
    const [f, p1, p2] = parts("z", 30, [["c"], ["c"]]);
    expect(Object.fromEntries(partGroups(toLog([f!, p1!, p2!])).firstOf)).toEqual({ 1: 0 });
  });
});

describe("a logged part's weight", () => {
  it("is what it adds to its sender's tally, kept through the log's JSON", () => {
    const [first, later] = parts("x");
    const tallied = (r: AttributedReport) => Aggregate.fromReport(JSON.parse(JSON.stringify(r)) as AttributedReport).senders.weights.get(7) ?? 0;
    expect([tallied(first!), tallied(later!)]).toEqual([30, 30]);
    expect([tallied({ ...first!, weight: 30 }), tallied({ ...later!, weight: 0 })]).toEqual([30, 0]);
  });
});
