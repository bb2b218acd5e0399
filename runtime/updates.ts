import { Shadow } from "./shadow.ts";
import { accOf, fail, type RuntimeState } from "./runtime-state.ts";
import { loadModel, releaseIfIdle, type Model } from "./model-loader.ts";
import type { Assignment } from "./types.ts";

/** How long a version that failed to load is not tried again. */
const RETRY_MS = 60_000;

/** What {@link Updates} does besides loading: restart the report timer, cut reports. */
export interface UpdateHooks {
  /** The report interval may have changed. */
  reschedule(): void;
  /** Cut what the outgoing shadow accumulated. */
  cutAll(): Promise<unknown>;
}

/**
 * Updates and swaps: applies each new assignment, one at a time, so two answers never load the
 * same version twice. A new live version is loaded and warmed before it replaces the serving
 * one (`update` or `rollback` event), which is released once its last call finished; a version
 * that fails to load (`integrity`, `download`, `backend`) is counted and emitted, not retried
 * for a minute, and the serving version keeps serving. The shadow is swapped the same way.
 */
export class Updates {
  private applying_ = Promise.resolve();
  private failedUntil_ = new Map<string, number>();
  private last_?: Assignment;

  /**
   * @param s_ - the runtime's state
   * @param hooks_ - report schedule hooks
   * @param load_ - loads a version (runtime/model-loader.ts `loadModel`; a seam for tests)
   */
  constructor(
    private readonly s_: RuntimeState,
    private readonly hooks_: UpdateHooks,
    private readonly load_: typeof loadModel = loadModel,
  ) {}

  /** Asks the collector for the assignment (of at least the pushed config version) and applies it; failures are left to the next poll. */
  refresh(): Promise<void> {
    const s = this.s_;
    return s.o.api.assignment(s.o.model, s.client, s.pushed).then(
      (a) => ((s.lastAnswer = s.o.clock.now()), this.apply(a)),
      () => {},
    );
  }

  /**
   * Applies an assignment after those before it: live version, shadow, report interval. One it
   * cannot apply (no manifest: a broken or hostile server's answer) is counted and emitted as an
   * error, and the assignments after it still apply; never rejects.
   *
   * @param a - the assignment
   * @param loading - its live version's load, when under way already (the start's)
   */
  apply(a: Assignment, loading?: Promise<Model>): Promise<void> {
    this.last_ = a;
    return (this.applying_ = this.applying_.then(() => this.apply_(a, loading)).catch((err) => fail(this.s_, err)));
  }

  /**
   * Marks a version retired: released once nothing runs on it.
   *
   * @param m - the version
   */
  retire(m: Model): void {
    m.retired = true;
    releaseIfIdle(m);
  }

  private async apply_(a: Assignment, loading?: Promise<Model>): Promise<void> {
    const s = this.s_;
    if (s.closed) return;
    if (a.version !== s.live.version) {
      const next = await this.load_safely_(a, loading);
      if (!next) return;
      // an assignment after this one moved the live version elsewhere (a rollback): not swapped in
      if (this.last_!.version !== a.version) return this.retire(next);
      const old = s.live;
      accOf(s, next);
      s.live = next;
      this.retire(old);
      s.emit(next.version < old.version ? "rollback" : "update", { from: String(old.version), to: String(next.version) });
    }
    // kept for the next start once its live version serves (the shadow below may fail to load)
    void s.o.store.put("meta", `assignment:${s.o.model}`, a).catch(() => {});
    const want = a.shadow;
    const shadow = s.shadow;
    if (want?.version !== shadow?.model.version || want?.sampleRate !== shadow?.sampleRate) {
      const next = want && (shadow?.model.version === want.version ? shadow.model : await this.load_safely_(want));
      if (want && !next) return;
      // the outgoing shadow's report, cut as it goes: it ran on while its successor loaded
      if (shadow) void this.hooks_.cutAll();
      s.shadow = next ? new Shadow(next, want!.sampleRate, s.o.clock.now(), s.idle) : undefined;
      if (shadow && shadow.model !== next) this.retire(shadow.model);
    }
    const interval = s.current.reportIntervalMs;
    s.current = a;
    if (a.reportIntervalMs !== interval) this.hooks_.reschedule();
    await this.prune_();
  }

  /** Loads a version (or waits for its `loading`); a failure is counted and emitted, and the version is not tried again for {@link RETRY_MS}. */
  private async load_safely_(a: Pick<Assignment, "version" | "manifest" | "artifactUrl">, loading?: Promise<Model>): Promise<Model | undefined> {
    const s = this.s_;
    const key = a.manifest.sha256;
    if ((this.failedUntil_.get(key) ?? 0) > s.o.clock.now()) return undefined;
    try {
      const m = await (loading ?? this.load_(s.o, a));
      // closed meanwhile: released, never swapped in
      if (!s.closed) return m;
      this.retire(m);
    } catch (err) {
      this.failedUntil_.set(key, s.o.clock.now() + RETRY_MS);
      fail(s, err);
      return undefined;
    }
  }

  /** Deletes stored models no version in use needs. */
  private async prune_(): Promise<void> {
    const s = this.s_;
    const keep = new Set([s.live.manifest.sha256, s.shadow?.model.manifest.sha256, ...[...s.accs.keys()].map((m) => m.manifest.sha256)]);
    // the page's other models share the store: what their assignments name stays
    for (const k of await s.o.store.keys("meta").catch(() => []))
      if (k.startsWith("assignment:") && k !== `assignment:${s.o.model}`) {
        const o = await s.o.store.get<Assignment>("meta", k).catch(() => undefined);
        keep.add(o?.manifest?.sha256).add(o?.shadow?.manifest?.sha256);
      }
    for (const sha of await s.o.store.keys("models").catch(() => [])) if (!keep.has(sha)) await s.o.store.delete("models", sha).catch(() => {});
  }
}
