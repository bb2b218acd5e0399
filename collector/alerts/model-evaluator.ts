import { DurableObject } from "cloudflare:workers";
import { openDb } from "../db/client.ts";
import type { AlertConfig } from "../../protocol/schema/alert-config.ts";
import { type JudgedWindows, deliver, evaluateModel } from "./evaluate.ts";

/**
 * Storage key prefix of the end of the last window judged of one version (epoch ms), `judgedUntil:v3`:
 * a number for each version the model served, kept. Each version's windows are judged once, in
 * order, whatever the rollout did between runs: a version served again is judged on the windows
 * past its mark (a canary launched again from its launch minute, collector/rollout/canary-since.ts),
 * and one first served after a run for a window is judged on that window by a repeat of the run.
 */
const VERSION_JUDGED_UNTIL = "judgedUntil:v";

/**
 * Storage key of the end of the last window judged of the whole model, which evaluators stored
 * beside the versions' marks until these were found enough: no longer written, it still covers
 * every version's windows up to it in an object that has one, so a run repeated across the deploy
 * judges nothing twice.
 */
const MODEL_JUDGED_UNTIL = "judgedUntil";

/**
 * The alert evaluator of one model (named by the model's key). The minute cron hands each model
 * to its own object, so every model is judged in an invocation of its own, with its own D1
 * queries, subrequests and CPU time: a fleet of many or wide models no longer shares one
 * invocation's limits. Judgements of one model take turns (a queue: one that fails does not hold
 * up the next), and a version's closed window is judged once however often the cron runs for it (a
 * run the platform repeats, a manual `/__scheduled`), so `confirm` counts windows, not runs. Undelivered
 * alerts are posted when the cron has judged every model, outside the queue: a slow webhook holds
 * up no judgement (runs that post at once claim each alert before posting it: alerts/store.ts).
 */
export class ModelEvaluator extends DurableObject<Env> {
  #turn: Promise<unknown> = Promise.resolve();

  /**
   * Judges the model's trailing window of closed minutes at `now` (collector/alerts/evaluate.ts
   * `evaluateModel`), after every judgement queued before it: each version whose window ending
   * there, or a later one, this object judged already is passed over.
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
    // each version's window counts once: a run the platform repeats, or a try again of one that failed
    // after judging the stable version (the canary's read, its rollback), passes over what was judged
    const storage = this.ctx.storage;
    const windows: JudgedWindows = {
      judged: async (version, to) => {
        const key = `${VERSION_JUDGED_UNTIL}${version}`;
        const marks = await storage.get<number>([key, MODEL_JUDGED_UNTIL]);
        return Math.max(marks.get(key) ?? -Infinity, marks.get(MODEL_JUDGED_UNTIL) ?? -Infinity) >= to;
      },
      record: (version, to) => storage.put(`${VERSION_JUDGED_UNTIL}${version}`, to),
    };
    await evaluateModel(this.env, openDb(this.env), config, now, windows);
  }
}
