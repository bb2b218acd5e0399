// `npm run build`: the runtime as dist/driftline.js (ESM) and dist/driftline.iife.js (sets
// window.Driftline), minified by esbuild; prints each file's raw and gzipped size.
// onnxruntime-web is not bundled: the runtime loads it at run time from the collector's /sdk/.
import { build } from "esbuild";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const root = new URL("..", import.meta.url).pathname;
/** @type {import("esbuild").BuildOptions} */
const common = {
  entryPoints: [`${root}runtime/index.ts`],
  bundle: true,
  minify: true,
  sourcemap: true,
  target: "es2022",
  platform: "browser",
  external: ["onnxruntime-web", "onnxruntime-web/*"],
  logLevel: "warning",
};
/** @type {Array<import("esbuild").BuildOptions & { outfile: string }>} */
const outputs = [
  { ...common, format: "esm", outfile: `${root}dist/driftline.js` },
  { ...common, format: "iife", globalName: "Driftline", outfile: `${root}dist/driftline.iife.js` },
];

for (const options of outputs) {
  await build(options);
  const bytes = readFileSync(options.outfile);
  const gz = gzipSync(bytes, { level: 9 }).length;
  console.log(`${options.outfile.slice(root.length).padEnd(24)} ${String(bytes.length).padStart(7)} B   ${String(gz).padStart(6)} B gzipped`);
}
