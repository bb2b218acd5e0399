// No zod here: the dashboard imports this, and zod would add ~55 KB gzipped to it.

/** What each objective kind (`kind` of an alert and of `/v1/stats`' `slo`) is called in the CLI and the dashboard. */
export const OBJECTIVE_NAMES: Readonly<Record<string, string>> = {
  latency_p95: "p95 latency",
  latency_p99: "p99 latency",
  error_rate: "error rate",
  throughput_fleet: "fleet throughput",
  throughput_client: "client throughput",
};

/**
 * Why an objective shown breached (`met: false`) fires no alert when `judged_met` is not false:
 * the CLI's footnote and the dashboard's tooltip.
 */
export const NOT_ALERTED_REASON = "met, or without data, once the heaviest sender's calls are left out, as the alerts judge: one client cannot fire an alert";

/** The alert configuration's objective fields; the error budget period (`sloPeriodDays`) is theirs, and is listed only beside one. */
export const OBJECTIVE_FIELDS = ["errorRate", "latencyP95Ms", "latencyP99Ms", "throughputFleet", "throughputClient"] as const;
