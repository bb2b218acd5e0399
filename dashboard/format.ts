// How numbers, times and shares read on screen.

const compact = new Intl.NumberFormat("en", { notation: "compact", maximumFractionDigits: 1 });

/** A count: 950, 12.3K, 4.1M. */
export function count(n: number): string {
  return compact.format(n);
}

/** A share in [0, 1] as a percent, "–" when unknown. */
export function percent(x: number | null | undefined, digits = 1): string {
  return x === null || x === undefined || !Number.isFinite(x) ? "–" : `${(x * 100).toFixed(digits)}%`;
}

/** A number with about three significant digits, small p-values in exponent form. */
export function num(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "–";
  if (x !== 0 && Math.abs(x) < 0.001) return x.toExponential(1);
  return Number(x.toPrecision(3)).toString();
}

/** Milliseconds: 0.42 ms, 12 ms, 1.2 s. */
export function ms(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "–";
  return x >= 1000 ? `${(x / 1000).toFixed(1)} s` : `${num(x)} ms`;
}

/** A time of day, local, to the minute (with the date when the window is a day or more). */
export function clock(t: number, withDate = false): string {
  const d = new Date(t);
  const time = d.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
  return withDate ? `${d.toLocaleDateString("en-GB", { day: "numeric", month: "short" })} ${time}` : time;
}

/** An ISO time as a local date and time. */
export function when(iso: string): string {
  return new Date(iso).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });
}
