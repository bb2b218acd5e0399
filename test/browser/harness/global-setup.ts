import { ensureChromium } from "../../../scripts/lib/chromium.mjs";

/** Makes sure Debian's Chromium is there (installing it as root when missing) before any browser test. */
export default function setup(): void {
  ensureChromium();
}
