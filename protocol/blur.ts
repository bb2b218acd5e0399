/**
 * Bits of a number's magnitude a sketch keeps of each value: a value is recorded as the middle of
 * a cell 2^-10 of its magnitude wide (about 0.1 %), so no report carries an input exactly.
 */
export const KEPT_BITS = 10;

/** Cells below this magnitude are all this wide (a value of 0 is recorded as a tiny one). */
const SMALLEST_CELL = 2 ** -40;

/**
 * Where the grid's cells start, in cells: not 0 or ½, so whole numbers (and other round values)
 * fall inside cells, never on their middles.
 */
const GRID_OFFSET = 0.381966;

/**
 * The value a sketch records for an input `v` (docs/privacy.md): the middle of its cell on a
 * fixed grid about 0.1 % of its magnitude fine, never `v` itself, not even after the float32
 * rounding of sketch items. The grid is the same everywhere — the runtime and `driftline
 * profile` record the same value for the same input — so blurring moves reference and live data
 * alike and adds no drift. NaN and ±Infinity pass unchanged (sketches only count them).
 *
 * @param v - the input
 * @example
 * blurValue(42) // 42.0147…, the same on every device
 */
export function blurValue(v: number): number {
  if (v - v !== 0) return v;
  const magnitude = Math.abs(v);
  const cell = magnitude >= SMALLEST_CELL * 2 ** KEPT_BITS ? 2 ** (Math.floor(Math.log2(magnitude)) - KEPT_BITS) : SMALLEST_CELL;
  const out = (Math.floor(v / cell - GRID_OFFSET) + GRID_OFFSET + 0.5) * cell;
  return Math.fround(out) === Math.fround(v) ? out + cell / 4 : out;
}
