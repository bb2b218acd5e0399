import { describe, expect, it } from "vitest";
import type { AlertRow } from "../../../../collector/alerts/store.ts";
import { MAX_ALERTS_PER_POST, postGroups, postText } from "../../../../collector/alerts/webhook.ts";

let id = 0;
const alert = (kind: string, subject: string, at = 1_000, state: AlertRow["state"] = "firing"): AlertRow => ({
  id: ++id,
  model: "default/wide",
  version: 1,
  kind,
  subject,
  state,
  value: 0.1,
  threshold: 0.05,
  windowFrom: 0,
  windowTo: 120_000,
  message: `[driftline] default/wide v1: drift of feature "${subject}" FIRING`,
  at,
  deliveredAt: null,
  attempts: 0,
  lastError: null,
  claimedAt: null,
  retryAt: null,
});

describe("webhook posts", () => {
  it("puts the alerts of one version, kind, state and evaluation in one post, at most MAX_ALERTS_PER_POST, in order", () => {
    const wide = Array.from({ length: 120 }, (_, i) => alert("feature_drift", `n${i}`));
    const dataset = alert("dataset_drift", "");
    const later = alert("feature_drift", "n0", 61_000);
    const resolved = alert("feature_drift", "n1", 1_000, "resolved");
    const posts = postGroups([...wide.slice(0, 60), dataset, ...wide.slice(60), later, resolved]);
    expect(posts.map((p) => p.length)).toEqual([MAX_ALERTS_PER_POST, 50, 1, 20, 1, 1]);
    expect(posts.flat().map((a) => a.id)).toEqual([...wide.slice(0, 100), dataset, ...wide.slice(100), later, resolved].map((a) => a.id));
  });

  it("writes one alert as its message, several as a count naming the first ten subjects", () => {
    expect(postText([alert("feature_drift", "<!channel>")])).toBe(':rotating_light: [driftline] default/wide v1: drift of feature "&lt;!channel&gt;" FIRING');
    const text = postText(Array.from({ length: 12 }, (_, i) => alert("feature_drift", `n${i}`, 1_000, "resolved")));
    expect(text).toBe(
      ":white_check_mark: [driftline] default/wide v1: feature drift resolved for 12 subjects over 1970-01-01T00:00:00.000Z – 1970-01-01T00:02:00.000Z: n0, n1, n2, n3, n4, n5, n6, n7, n8, n9 and 2 more (each alert: the dashboard, driftline alerts)",
    );
  });
});
