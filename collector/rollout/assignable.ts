import type { Report } from "../../protocol/schema/report.ts";
import { assign } from "./assign.ts";
import type { RolloutState } from "./state.ts";

/** Versions one client may report: as its live version, and as a shadow. */
export interface AssignableVersions {
  live: Set<number>;
  shadow: Set<number>;
}

/**
 * The versions the given rollout states can give `client`: in each, the stable version (a
 * client whose canary failed to load keeps running it), the canary when the client's sticky
 * bucket under that state's salt is in the canary share, and the shadow.
 *
 * @param client - the client id
 * @param model - the model name
 * @param states - the current state and those replaced within the grace period
 */
export function assignableVersions(client: string, model: string, states: readonly RolloutState[]): AssignableVersions {
  const out: AssignableVersions = { live: new Set(), shadow: new Set() };
  for (const state of states) {
    out.live.add(state.stable);
    out.live.add(assign(client, model, state).version);
    if (state.shadow) out.shadow.add(state.shadow.version);
  }
  return out;
}

/**
 * Why a report claims a version its client was not given, or undefined when it may run it.
 * A `live` report's version must be assignable as live; a `shadow` report (the runtime sends
 * the live version with `shadow.version`) may name a live or the shadow version; any
 * `shadow.version` must be a shadow. Versions are checked against the union of the states, as a
 * client swapping versions mid-period sends a report mixing two of them.
 *
 * @param report - version, role and shadow of a report
 * @param allowed - {@link assignableVersions} of its client
 * @example
 * notAssigned({ version: 4, role: "live" }, { live: new Set([3]), shadow: new Set() })
 * // "version 4 is not assigned to this client as live"
 */
export function notAssigned(report: Pick<Report, "version" | "role" | "shadow">, allowed: AssignableVersions): string | undefined {
  const asLive = allowed.live.has(report.version);
  if (report.role === "live" && !asLive) return `version ${report.version} is not assigned to this client as live`;
  if (report.role === "shadow" && !asLive && !allowed.shadow.has(report.version)) return `version ${report.version} is not assigned to this client`;
  if (report.shadow && !allowed.shadow.has(report.shadow.version)) return `version ${report.shadow.version} is not this client's shadow`;
  if (report.role === "shadow" && allowed.shadow.size === 0) return "the model has no shadow version";
  return undefined;
}
