import { execFileSync } from "node:child_process";
import { ensureChromium } from "../../../scripts/lib/chromium.mjs";

const root = new URL("../../..", import.meta.url).pathname;

/**
 * Before any browser test: makes sure Debian's Chromium is there (installing it as root when
 * missing), and builds dist/site (the runtime, onnxruntime-web and the dashboard the collector
 * serves) from the current code, once. Files running side by side must never rebuild it: a page
 * fetching /sdk/ort/ while another file rewrote it got other bytes and refused them ("not the
 * onnxruntime-web this runtime was built with"). `npm test` builds before vitest and says so in
 * DRIFTLINE_BUILT.
 */
export default function setup(): void {
  ensureChromium();
  if (process.env.DRIFTLINE_BUILT !== "1") execFileSync(process.execPath, [`${root}scripts/build.mjs`], { cwd: root, stdio: "ignore" });
}
