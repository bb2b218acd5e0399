// Typed lists of names (feature names, class labels): comma-separated, CSV quotes for names that
// hold a comma or a quote or begin or end with a space.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatNameList, parseNameList } from "../../../protocol/name-list.ts";

describe("name lists", () => {
  it("reads plain and quoted names, spaces around them ignored, empty ones left out", () => {
    expect(parseNameList("tenure, plan")).toEqual(["tenure", "plan"]);
    expect(parseNameList(' "price, usd" ,age,, "say ""hi""",')).toEqual(["price, usd", "age", 'say "hi"']);
    expect(parseNameList('" padded "')).toEqual([" padded "]);
    expect(parseNameList("")).toEqual([]);
    expect(parseNameList("*")).toEqual(["*"]);
    expect(parseNameList('a,\t"b, c"\t')).toEqual(["a", "b, c"]);
  });

  it("refuses a quoted name left open or followed by text", () => {
    expect(() => parseNameList('tenure, "price, usd')).toThrow('a quoted name is not closed: "price, usd');
    expect(() => parseNameList('"price" usd, age')).toThrow("text after a quoted name: usd, age");
  });

  it("writes any names as a list that reads back to them", () => {
    const name = fc.string({ minLength: 1, maxLength: 12, unit: fc.constantFrom("a", " ", "\t", ",", '"', "é", "x") }).filter((n) => n.trim() !== "");
    fc.assert(
      fc.property(fc.array(name, { maxLength: 6 }), (names) => {
        expect(parseNameList(formatNameList(names))).toEqual(names);
      }),
      { seed: 20261206, numRuns: 2000 },
    );
    expect(formatNameList(["tenure", "price, usd", 'say "hi"'])).toBe('tenure, "price, usd", "say ""hi"""');
  });
});
