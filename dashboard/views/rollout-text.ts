import type { Rollout } from "../types.ts";

/** A canary as text: "v2 · 10%", or "–". */
export function canaryText(r: Rollout | null): string {
  return r?.canary ? `v${r.canary.version} · ${r.canary.percent}%` : "–";
}

/** A shadow as text: "v3 · 10% sampled", or "–". */
export function shadowText(r: Rollout | null): string {
  return r?.shadow ? `v${r.shadow.version} · ${Math.round(r.shadow.sampleRate * 1000) / 10}% sampled` : "–";
}

/** A whole rollout on one line, e.g. for the audit log: "stable v1, canary v2 · 10%". */
export function rolloutText(r: Rollout | null): string {
  if (!r) return "–";
  return [`stable v${r.stable}`, r.canary && `canary ${canaryText(r)}`, r.shadow && `shadow ${shadowText(r)}`].filter(Boolean).join(", ");
}
