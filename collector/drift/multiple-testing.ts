/**
 * Benjamini–Hochberg adjusted p-values: with m p-values sorted ascending, the i-th adjusted value is
 * min over j ≥ i of p(j)·m/j, capped at 1. Rejecting every hypothesis whose adjusted p-value is
 * below q keeps the expected share of false discoveries among the rejected at most q (for
 * independent or positively dependent tests). `null` entries (no test) are left out of m and stay
 * `null`; the output keeps the input's order.
 *
 * @param pValues - one p-value (or null) per hypothesis
 * @returns the adjusted p-values, in the same order
 * @example
 * benjaminiHochberg([0.01, 0.04, null, 0.03]); // [0.03, 0.04, null, 0.04]
 */
export function benjaminiHochberg(pValues: readonly (number | null)[]): (number | null)[] {
  const tested = pValues.flatMap((p, index) => (p === null ? [] : [{ p, index }])).sort((a, b) => a.p - b.p);
  const adjusted: (number | null)[] = pValues.map(() => null);
  const m = tested.length;
  let smallestAbove = 1;
  for (let rank = m; rank >= 1; rank--) {
    const { p, index } = tested[rank - 1]!;
    smallestAbove = Math.min(smallestAbove, (p * m) / rank);
    adjusted[index] = smallestAbove;
  }
  return adjusted;
}
