import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { maxArtifactBytes, pushEnabled, retentionSettings, rolloutGraceMs, settingProblems, shardCount } from "../../../collector/config.ts";

describe("collector settings", () => {
  it("read a whole number in range, else the default", () => {
    expect(retentionSettings({ MINUTE_RETENTION_HOURS: " 12 ", HOUR_RETENTION_DAYS: "7" })).toEqual({ minuteHours: 12, hourDays: 7 });
    for (const bad of ["", "48h", "1.5", "-1", "0", "1e3", "0x30", "9007199254740993"]) expect(retentionSettings({ MINUTE_RETENTION_HOURS: bad }).minuteHours).toBe(48);
    expect(shardCount({ INGEST_SHARDS: "1024" })).toBe(1024);
    expect(shardCount({ INGEST_SHARDS: "1025" })).toBe(1);
    expect(rolloutGraceMs({ ROLLOUT_GRACE_MS: "0" })).toBe(0);
    expect(maxArtifactBytes({ MAX_ARTIFACT_BYTES: "-5" })).toBe(104_857_600);
  });

  it("read a word setting only as one of its words", () => {
    expect(pushEnabled({ PUSH_CHANNEL: "off" })).toBe(false);
    expect(pushEnabled({ PUSH_CHANNEL: "Off" })).toBe(true);
    expect(settingProblems({ PUSH_CHANNEL: "Off" })).toEqual(['PUSH_CHANNEL = "Off" is not "on" or "off": the default "on" applies']);
  });

  it("find nothing to fix in wrangler.toml's own values, the secret or bindings that are not strings", () => {
    const toml = readFileSync(new URL("../../../wrangler.toml", import.meta.url), "utf8");
    const vars = /^\[vars\]\n([\s\S]*?)(?=^\[)/m.exec(toml)?.[1] ?? "";
    const wranglerVars = Object.fromEntries([...vars.matchAll(/^([A-Z][A-Z0-9_]*) = "(.*)"$/gm)].map((m) => [m[1]!, m[2]!]));
    expect(Object.keys(wranglerVars)).toHaveLength(21);
    expect(settingProblems({ ...wranglerVars, ADMIN_TOKEN: "adm_x", DB: {}, TEST_MIGRATIONS: [] })).toEqual([]);
  });
});
