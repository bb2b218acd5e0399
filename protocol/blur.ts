/**
 * Bits of a number's magnitude a sketch keeps of each value: a value is recorded as the middle of
 * a cell 2^-10 of its magnitude wide (about 0.1 %), so no report carries an input exactly.
 */
export const KEPT_BITS = 10;

/** Cells below this magnitude are all this wide (a value of 0 is recorded as a tiny one). */
const SMALLEST_CELL = 2 ** -40;

/** A float64 and its two 32-bit words (little-endian: words[1] holds the sign and exponent). */
const bits = /* @__PURE__ */ new Float64Array(1);
const words = /* @__PURE__ */ new Uint32Array(bits.buffer);

/**
 * Where the grid's cells start, in cells: not 0 or ½, so whole numbers (and other round values)
 * fall inside cells, never on their middles.
 */
const GRID_OFFSET = 0.381966;

/**
 * The narrowest cell for a feature whose values are multiples of `step` (the manifest's
 * `step`, found by {@link valueStep}): the smallest power of two at least two steps wide, so
 * that every cell spans two or more values the data can take and rounding a cell's middle does
 * not give the input back. 0 (no step) leaves the grid relative alone.
 *
 * @param step - the feature's step, or undefined
 * @example
 * narrowestCell(1) // 2: whole numbers share cells in pairs
 */
export const narrowestCell = (step: number | undefined): number => (step ? 2 ** Math.ceil(Math.log2(2 * step)) : 0);

/**
 * The value a sketch records for an input `v` (docs/privacy.md): the middle of its cell on a
 * fixed grid about 0.1 % of its magnitude fine, or `minCell` wide where that is wider (see
 * {@link narrowestCell}), never `v` itself, not even after the float32 rounding of sketch items.
 * The grid is the same everywhere — the runtime and `driftline profile` record the same value for
 * the same input — so blurring moves reference and live data alike and adds no drift. NaN and
 * ±Infinity pass unchanged (sketches only count them).
 *
 * @param v - the input
 * @param minCell - the narrowest cell (a power of two), 0 for none
 * @example
 * blurValue(42) // 42.0147…, the same on every device
 * blurValue(42, 2) // 41.76…, as 41 is
 */
export function blurValue(v: number, minCell = 0): number {
  if (v - v !== 0) return v;
  // the cell 2^(exponent − KEPT_BITS), made from v's exponent bits: Math.log2 and ** took ~100 ns
  // a value, most of a batch's sketching (and Math.log2 rounds up just below a power of two)
  bits[0] = v;
  const exponent = (words[1]! >>> 20) & 0x7ff;
  let relative = SMALLEST_CELL;
  if (exponent - 1023 - KEPT_BITS >= -40) {
    words[1] = (exponent - KEPT_BITS) << 20;
    words[0] = 0;
    relative = bits[0];
  }
  const cell = Math.max(relative, minCell);
  const out = (Math.floor(v / cell - GRID_OFFSET) + GRID_OFFSET + 0.5) * cell;
  return Math.fround(out) === Math.fround(v) ? out + cell / 4 : out;
}

/**
 * A whole number as recorded: the middle of a cell of two neighbouring ones, as a value of a
 * feature whose `step` is 1 is (0 is alone in its cell: 1 and 2 share one). For counts and token
 * ids, whose neighbours a finer record would tell apart.
 *
 * @param v - the number
 * @example
 * pairedWhole(7) === pairedWhole(8) // true
 */
export const pairedWhole = (v: number): number => blurValue(v, narrowestCell(1));

/** Powers of ten {@link valueStep} tries, 10^6 down to 10^-6. */
const STEP_EXPONENTS = /* @__PURE__ */ Array.from({ length: 13 }, (_, i) => 6 - i);

/**
 * The largest power of ten (10^-6 … 10^6) of which every finite value is a whole multiple —
 * 1 for counts, 0.01 for prices in cents — or undefined when there is none (measurements) or no
 * value other than 0.
 *
 * @param values - a feature's reference values
 * @example
 * valueStep([3, 17, 42]) // 1
 * valueStep([0.5, 2.25]) // 0.01
 */
export function valueStep(values: Iterable<number | null | undefined>): number | undefined {
  let at = 0;
  let seen = false;
  for (const v of values) {
    if (typeof v !== "number" || v - v !== 0 || v === 0) continue;
    seen = true;
    while (at < STEP_EXPONENTS.length && !isMultiple(v, STEP_EXPONENTS[at]!)) at++;
    if (at === STEP_EXPONENTS.length) return undefined;
  }
  // 1e-4, not 10 ** -4 (0.00009999999999999999, as 10 ** -5)
  return seen ? Number(`1e${STEP_EXPONENTS[at]!}`) : undefined;
}

/**
 * Whether `v` is a whole multiple of 10^`exponent` other than 0, to within float rounding: a
 * tolerance relative to the quotient alone, so that 0.0005 is not taken for a multiple of 10^6
 * (a quotient of 5e-10 is not a whole number, however close to 0) — or, for a float32 (a Parquet
 * FLOAT column), the float32 of one: 0.30000001192092896 is 0.3's.
 */
function isMultiple(v: number, exponent: number): boolean {
  const q = exponent < 0 ? v * 10 ** -exponent : v / 10 ** exponent;
  const k = Math.round(q);
  return Math.abs(q - k) <= 1e-9 * Math.abs(q) || (k !== 0 && Math.fround(v) === v && Math.fround(exponent < 0 ? k / 10 ** -exponent : k * 10 ** exponent) === v);
}

/**
 * What a regression's label is recorded as, so that a residual (label − prediction) with its
 * prediction beside it does not give the label back: the middle of a cell of two neighbouring
 * values the targets can take — the multiples of `step` from `targets.min`, paired from there —
 * or of the top three when the range holds an odd number of them, so that no value in the range
 * is alone in its cell. Labels beyond the range pair beyond it. A range of fewer than three
 * values (0/1: a class, sent as a classifier's is) keeps its own values; any other label pairs.
 * Without `targets` (an output written by hand) the multiples of `step` pair from 0, over an
 * endless range.
 *
 * @param label - the label
 * @param step - the targets' step (the output's `step`)
 * @param targets - the smallest and largest target (the output's `targets`), if any
 * @example
 * pairedLabel(4, 1, { min: 1, max: 5 }) // 4: 3, 4 and 5 share a cell
 * pairedLabel(1, 1, { min: 1, max: 5 }) // 1.5: 1 and 2 share a cell
 */
export function pairedLabel(label: number, step: number, { min, max }: { min: number; max: number } = { min: 0, max: 1 / 0 }): number {
  // the targets' values are min + k × step, k from 0 to n − 1; the label's is i
  const n = Math.round((max - min) / step) + 1;
  const i = Math.round((label - min) / step);
  const pair = (k: number) => 2 * Math.floor(k / 2);
  // the first value of the label's cell: pairs from min up, the top three together for an odd n,
  // pairs from n up beyond the range
  const first = i < n ? Math.min(pair(i), pair(n - 2)) : n + pair(i - n);
  // the top three's middle where first === n − 3: first is even below n, so only for an odd n;
  // not for n = 1, where −2 starts the pair just below the range, taken at its middle as any.
  // A range of one or two values keeps only its own (a class): any other label pairs, beyond
  // them or between them (a share where the reference held only 0 and 1)
  return label - label === 0 && (n > 2 || (label - min && label - max)) ? min + (first + (first === n - 3 && n > 1 ? 1 : 0.5)) * step : label;
}
