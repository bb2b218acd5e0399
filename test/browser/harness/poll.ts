/**
 * Calls `read` every 500 ms until `enough` holds of what it answers or `ms` passed, and answers
 * the last answer. Made for what a page's beacon carries: one reached the collector after more
 * than 10 s in clean-clone runs (two browsers and two collectors on 2 cores).
 */
export async function readUntil<T>(read: () => Promise<T>, enough: (value: T) => boolean, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (enough(value) || Date.now() >= deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
