// `node scripts/run-ts.mjs <file.ts> [args…]`: runs a TypeScript entry (bundled by esbuild) with
// its arguments, passing signals through. `npm run simulate` uses it.
import { spawn } from "node:child_process";
import { bundleForNode } from "./lib/bundle-node.mjs";

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error("usage: node scripts/run-ts.mjs <file.ts> [args…]");
  process.exit(2);
}
const child = spawn(process.execPath, [await bundleForNode(entry), ...args], { stdio: "inherit" });
for (const signal of /** @type {const} */ (["SIGINT", "SIGTERM"])) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
