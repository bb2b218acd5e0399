/** A progress indicator on stderr: a redrawn bar on a terminal, a line every 10% otherwise. */
export interface Progress {
  /** Sets how much is done, in the unit of `total`. */
  update(done: number): void;
  /** Ends the bar with a final line. */
  done(summary: string): void;
}

/**
 * Starts a progress indicator.
 *
 * @param label - what is going on, e.g. "profiling train.csv"
 * @param total - the amount of work (bytes, rows…)
 * @param format - how to show an amount
 */
export function progress(label: string, total: number, format: (n: number) => string = String): Progress {
  const tty = process.stderr.isTTY === true;
  let lastDecile = -1;
  let lastDraw = 0;
  return {
    update(done) {
      const share = total > 0 ? Math.min(1, done / total) : 0;
      if (tty) {
        const now = Date.now();
        if (now - lastDraw < 100) return;
        lastDraw = now;
        const width = 30;
        const filled = Math.round(share * width);
        process.stderr.write(`\r${label} [${"#".repeat(filled)}${" ".repeat(width - filled)}] ${(share * 100).toFixed(0).padStart(3)}% ${format(done)}`);
      } else {
        const decile = Math.floor(share * 10);
        if (decile > lastDecile) {
          lastDecile = decile;
          process.stderr.write(`${label}: ${decile * 10}% (${format(done)})\n`);
        }
      }
    },
    done(summary) {
      process.stderr.write(tty ? `\r\x1b[K${label}: ${summary}\n` : `${label}: ${summary}\n`);
    },
  };
}
