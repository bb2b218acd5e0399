import type { ShadowAggregate } from "./aggregate.ts";

/**
 * Where a shadow's agreement with the live version lies for the fleet without its heaviest
 * sender (`heaviest`: an upper bound of the shadow rows any one sender gave, from
 * `Aggregate.shadowers`): whatever that sender's rows and agreements were, the others' agree on
 * a share within `[max(0, agree − h) / (rows − h), min(1, agree / (rows − h))]`. One client
 * network can widen the range, never move it away from the rest of the fleet's figure. Null
 * when that sender may have sent every row.
 *
 * @param s - the shadow version's rows and agreements
 * @param heaviest - the heaviest sender's shadow rows, at most
 * @example
 * agreementRange({ rows: 1000, agree: 900 }, 100) // [0.889, 1]
 */
export function agreementRange(s: Pick<ShadowAggregate, "rows" | "agree">, heaviest: number): [number, number] | null {
  const rest = s.rows - heaviest;
  if (!(rest > 0)) return null;
  return [Math.max(0, s.agree - heaviest) / rest, Math.min(1, s.agree / rest)];
}
