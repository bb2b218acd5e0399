// No zod here: the dashboard imports this (the type import is erased).
import type { StatsAnswer } from "./api.ts";

/**
 * How a shadow version agreed with the live one, in one line: `driftline status` and the
 * dashboard's rollout panel.
 *
 * @param agreement - the shadow's entry in `shadow` of `GET /v1/stats?role=shadow` (undefined: no rows)
 * @param regression - whether the model is a regression (no classes to agree on)
 */
export function describeShadow(agreement: StatsAnswer["shadow"][string] | undefined, regression = false): string {
  if (!agreement?.rows || agreement.agreement === null) return "no rows yet (it runs on sampled rows in the page's idle time and reports with the live version)";
  const rows = `${agreement.rows.toLocaleString("en-US")} rows`;
  if (regression) return `ran on ${rows}`;
  const pct = (x: number) => (x * 100).toFixed(1);
  const range = agreement.agreement_range;
  // what one client network could have moved: the figure without it (docs/security.md)
  const without = range ? `${pct(range[0])}–${pct(range[1])} % without the heaviest sender` : "all from one sender, so not a figure to promote on";
  return `same class on ${pct(agreement.agreement)} % of ${rows} (${without})`;
}
