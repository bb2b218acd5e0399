// No zod here: the dashboard imports this, and zod would add ~55 KB gzipped to it.

/** What each objective kind (`kind` of an alert and of `/v1/stats`' `slo`) is called in the CLI and the dashboard. */
export const OBJECTIVE_NAMES: Readonly<Record<string, string>> = {
  latency_p95: "p95 latency",
  latency_p99: "p99 latency",
  error_rate: "error rate",
  throughput_fleet: "fleet throughput",
  throughput_client: "client throughput",
};
