// Finds Debian's Chromium for the browser tests, installing it with apt when it is missing.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

/** Where Debian's chromium package puts the browser. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/**
 * Returns the Chromium executable path, running `apt-get install chromium` first when it is
 * missing and we are root (as in CI). Throws with the command to run otherwise.
 */
export function ensureChromium() {
  if (existsSync(CHROMIUM_PATH)) return CHROMIUM_PATH;
  if (process.getuid?.() !== 0) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}: run \`sudo apt-get install -y chromium\` (or set CHROMIUM_PATH)`);
  }
  console.error("driftline: Chromium is missing, installing Debian's chromium package with apt …");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
  execFileSync("apt-get", ["install", "-y", "-qq", "chromium"], { stdio: "inherit", env });
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`apt installed chromium but ${CHROMIUM_PATH} is still missing`);
  return CHROMIUM_PATH;
}
