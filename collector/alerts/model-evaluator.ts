import { DurableObject } from "cloudflare:workers";
import { closedUntil } from "../aggregates/windows.ts";
import { openDb } from "../db/client.ts";
import type { AlertConfig } from "../../protocol/schema/alert-config.ts";
import { type JudgedWindows, deliver, evaluateModel } from "./evaluate.ts";

/** Storage key of the end of the last window this object judged (epoch ms). */
const JUDGED_UNTIL = "judgedUntil";

/** Storage key prefix of the end of the last window judged of one version, while its model's is behind it. */
const VERSION_JUDGED_UNTIL = "judgedUntil:v";

/**
 * The alert evaluator of one model (named by the model's key). The minute cron hands each model
 * to its own object, so every model is judged in an invocation of its own, with its own D1
 * queries, subrequests and CPU time: a fleet of many or wide models no longer shares one
 * invocation's limits. Judgements of one model take turns (a queue: one that fails does not hold
 * up the next), and a closed window is judged once however often the cron runs for it (a run the
 * platform repeats, a manual `/__scheduled`), so `confirm` counts windows, not runs. Undelivered
 * alerts are posted when the cron has judged every model, outside the queue: a slow webhook holds
 * up no judgement (runs that post at once claim each alert before posting it: alerts/store.ts).
 */
export class ModelEvaluator extends DurableObject<Env> {
  #turn: Promise<unknown> = Promise.resolve();

  /**
   * Judges the model's trailing window of closed minutes at `now` (collector/alerts/evaluate.ts
   * `evaluateModel`), after every judgement queued before it, unless this object judged that
   * window, or a later one, already.
   *
   * @param config - the model's alert configuration, as the cron read it
   * @param now - epoch ms of the cron run
   */
  async evaluate(config: AlertConfig & { model: string }, now: number): Promise<void> {
    const judge = () => this.#judge(config, now);
    const turn = this.#turn.then(judge, judge);
    this.#turn = turn;
    await turn;
  }

  /**
   * Posts the model's undelivered alerts (collector/alerts/evaluate.ts `deliver`). The cron asks
   * once every model is judged, so no model's judgement waits on another's slow receiver.
   *
   * @param config - the model's alert configuration, as the cron read it
   * @param now - epoch ms of the cron run
   */
  async deliver(config: AlertConfig & { model: string }, now: number): Promise<void> {
    await deliver(this.env, openDb(this.env), config, now);
  }

  async #judge(config: AlertConfig & { model: string }, now: number): Promise<void> {
    const windowTo = closedUntil(this.env, now);
    const judged = await this.ctx.storage.get<number>(JUDGED_UNTIL);
    if (judged !== undefined && windowTo <= judged) return;
    // a try that fails after judging the stable version (the canary's read, its rollback) is tried
    // again by the next run for the window: each version's window counts once
    const storage = this.ctx.storage;
    const windows: JudgedWindows = {
      judged: async (version, to) => ((await storage.get<number>(`${VERSION_JUDGED_UNTIL}${version}`)) ?? -Infinity) >= to,
      record: (version, to) => storage.put(`${VERSION_JUDGED_UNTIL}${version}`, to),
    };
    await evaluateModel(this.env, openDb(this.env), config, now, windows);
    await storage.put(JUDGED_UNTIL, windowTo);
    // the model's mark covers every version's now
    const versions = await storage.list({ prefix: VERSION_JUDGED_UNTIL });
    if (versions.size > 0) await storage.delete([...versions.keys()]);
  }
}
