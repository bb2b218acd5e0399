// Web Locks for what the runtimes of one model in several tabs keep in the one store of their
// origin: each runtime holds a lock of its own while it runs, and takes over only what runtimes
// that no longer hold theirs left, one runtime at a time. Without Web Locks (Node) a runtime is
// alone: it holds nothing and takes over everything.

const locks = () => (globalThis.navigator as Navigator | undefined)?.locks;

/**
 * Holds the lock `name` until the returned function is called or the page goes away.
 *
 * @param name - a name no other runtime uses
 * @returns what releases it
 */
export const holdLock = (name: string): Promise<() => void> =>
  new Promise((held) => {
    const l = locks();
    // the lock is held until the promise its callback returns settles: that promise's resolve is the release
    if (l) void l.request(name, () => new Promise<void>(held));
    else held(() => {});
  });

/**
 * Runs `adopt` while holding the lock `name`, so that two runtimes starting together never both
 * take over one thing.
 *
 * @param name - the lock of what is adopted
 * @param adopt - called with `running(owner)`: whether a runtime holds the lock `owner` now
 */
export async function adopting(name: string, adopt: (running: (owner: unknown) => boolean) => Promise<void>): Promise<void> {
  const l = locks();
  if (!l) return adopt(() => false);
  await l.request(name, async () => {
    const held = (await l.query()).held?.map((lock) => lock.name) ?? [];
    await adopt((owner) => held.includes(owner as string));
  });
}
