// Web Locks for what the runtimes of one model in several tabs keep in the one store of their
// origin: each runtime holds a lock of its own while it runs, and takes over only what runtimes
// that no longer hold theirs left, one runtime at a time. Without Web Locks (Node) a runtime is
// alone: it holds nothing and takes over everything. So is one whose origin is opaque (a
// sandboxed iframe): every lock request is refused there, and so is IndexedDB (its store is in memory).

let locks = (globalThis.navigator as Navigator | undefined)?.locks;

/**
 * Holds the lock `own` until the returned function is called or the page goes away, then runs
 * `adopt` while holding the lock `group`, so that two runtimes starting together never both take
 * over one thing.
 *
 * @param own - a name no other runtime uses: the owner of what this runtime stores
 * @param group - the lock of what is adopted
 * @param adopt - called with `running(owner)`: whether a runtime holds the lock `owner` now
 * @returns what releases `own`
 */
export async function holdAndAdopt(own: string, group: string, adopt: (running: (owner: unknown) => boolean) => Promise<void>): Promise<() => void> {
  // the lock is held until the promise its callback returns settles: that promise's resolve is the
  // release; a refused request makes the runtime alone
  const release = await new Promise<() => void>((held) => {
    (locks?.request(own, () => new Promise<void>(held)) ?? Promise.reject()).catch(() => {
      locks = undefined;
      held(() => {});
    });
  });
  const l = locks;
  if (!l) return adopt(() => false).then(() => release);
  await l.request(group, async () => {
    const held = (await l.query()).held?.map((lock) => lock.name) ?? [];
    await adopt((owner) => held.includes(owner as string));
  });
  return release;
}
