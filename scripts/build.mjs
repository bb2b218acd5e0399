// `npm run build`:
// - runtime/dist/driftline-{image,audio,text,embedding,tensors,logging}.js (ESM): the optional modules (runtime/media/), which a
//   page imports as `driftline/image` … or the runtime imports from /sdk/ when a manifest needs one,
//   checked against the SHA-256 the runtime is built with; then
// - runtime/dist/driftline.js (ESM) and runtime/dist/driftline.iife.js (sets window.Driftline): the
//   runtime package's builds (runtime/package.json), bundled
//   by esbuild and minified by esbuild and terser, printing each file's raw and gzipped size (and
//   writing them to dist/sizes.json); either over BUDGET_GZIPPED fails the build.
//   onnxruntime-web is not bundled: the runtime loads it at run time from the collector's /sdk/ort/.
//   With `--runtime` (the runtime package's own build and prepack), only these are written.
// - dist/site/: the collector's static assets (Workers static assets, see wrangler.toml [assets]):
//   /sdk/driftline*.js, /sdk/ort/* (the onnxruntime-web files the runtime loads), with CORS and CORP
//   headers so any page, cross-origin isolated or not, can load them; and the demo page /demo/.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import { minify } from "terser";
import { ORT_BUILDS, ORT_DIST, ortHashesDefine } from "./lib/ort-files.mjs";

const root = new URL("..", import.meta.url).pathname;
const site = `${root}dist/site`;
/** Where the runtime package (runtime/package.json) keeps its builds. */
const runtimeDist = `${root}runtime/dist/`;
/** Only the runtime package's builds: packing it leaves dist/site/ alone (a running collector serves it). */
const runtimeOnly = process.argv.includes("--runtime");
/** The onnxruntime-web files the runtime may load: the WASM-only build, and the JSPI build with WebGPU. */
const ORT_FILES = Object.values(ORT_BUILDS).flat();
/**
 * The size budget of the runtime's default entries, gzipped: the build fails past it, so growth is
 * a decision (docs/runtime.md "Speed and size against their targets"; issue 13's target is 12 KB).
 */
const BUDGET_GZIPPED = 20 * 1024;

const HEADERS = `/sdk/*
  Access-Control-Allow-Origin: *
  Cross-Origin-Resource-Policy: cross-origin
  Cache-Control: public, max-age=300
/sdk/ort/*
  Cache-Control: public, max-age=86400
/dashboard/*
  Cache-Control: no-cache
  Content-Security-Policy: default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'
  Referrer-Policy: no-referrer
  X-Content-Type-Options: nosniff
`;

/** @type {import("esbuild").BuildOptions} */
const common = {
  entryPoints: [`${root}runtime/index.ts`],
  bundle: true,
  minify: true,
  sourcemap: true,
  target: "es2022",
  platform: "browser",
  external: ["onnxruntime-web", "onnxruntime-web/*"],
  // the SHA-256 of every onnxruntime-web file this build serves from /sdk/ort/: no other bytes run
  define: { __DRIFTLINE_ORT__: ortHashesDefine() },
  // Private members end in "_" (protocol/sketch, runtime): safe to shorten, never on the wire.
  mangleProps: /_$/,
  logLevel: "warning",
};
/** The media modules: built first, their digests go into the runtime (runtime/media.ts). */
const MEDIA = ["image", "audio", "text", "embedding", "tensors", "logging"];
/** @type {Array<import("esbuild").BuildOptions & { outfile: string }>} */
const mediaOutputs = MEDIA.map((kind) => ({ ...common, entryPoints: [`${root}runtime/media/${kind}.ts`], format: "esm", outfile: `${runtimeDist}driftline-${kind}.js` }));
/** @type {Array<import("esbuild").BuildOptions & { outfile: string }>} */
const outputs = [
  { ...common, format: "esm", outfile: `${runtimeDist}driftline.js` },
  // the <script> entry: the same exports, and the tag's data-trust keys (runtime/script-tag.ts)
  {
    ...common,
    entryPoints: [`${root}runtime/script-tag.ts`],
    format: "iife",
    outfile: `${runtimeDist}driftline.iife.js`,
  },
];

/**
 * Copies `from` to `to` unless an identical-looking file (same size, not older) is already there.
 * @param {string} from
 * @param {string} to
 */
function copyIfChanged(from, to) {
  const source = statSync(from);
  if (existsSync(to)) {
    const target = statSync(to);
    if (target.size === source.size && target.mtimeMs >= source.mtimeMs) return;
  }
  copyFileSync(from, to);
}

/**
 * Bundles with esbuild, then minifies again with terser, whose compressor finds more than
 * esbuild's (about 4% of the gzipped runtime); the source map runs through both.
 * @param {import("esbuild").BuildOptions & { outfile: string }} options
 */
async function buildRuntime(options) {
  const result = await build({ ...options, write: false });
  const text = (/** @type {string} */ ext) => result.outputFiles.find((f) => f.path.endsWith(ext))?.text ?? "";
  const file = options.outfile.slice(options.outfile.lastIndexOf("/") + 1);
  const min = await minify(text(".js"), {
    module: options.format === "esm",
    compress: { passes: 3 },
    sourceMap: { content: text(".js.map"), url: `${file}.map` },
  });
  writeFileSync(options.outfile, /** @type {string} */ (min.code));
  writeFileSync(`${options.outfile}.map`, /** @type {string} */ (min.map));
}

mkdirSync(runtimeDist, { recursive: true });
if (!runtimeOnly) mkdirSync(`${site}/sdk/ort`, { recursive: true });
/** @type {Record<string, { bytes: number, gzipped: number }>} */
const sizes = {};
/** @type {Record<string, string>} */
const mediaDigests = {};
for (const options of [...mediaOutputs, ...outputs]) {
  if (outputs.includes(options)) options.define = { ...options.define, __DRIFTLINE_MEDIA__: JSON.stringify(mediaDigests) };
  await buildRuntime(options);
  const bytes = readFileSync(options.outfile);
  const gz = gzipSync(bytes, { level: 9 }).length;
  const name = options.outfile.slice(runtimeDist.length);
  if (!runtimeOnly) {
    copyFileSync(options.outfile, `${site}/sdk/${name}`);
    copyFileSync(`${options.outfile}.map`, `${site}/sdk/${name}.map`);
  }
  const budgeted = outputs.includes(options);
  console.log(`runtime/dist/${name.padEnd(22)} ${String(bytes.length).padStart(7)} B   ${String(gz).padStart(6)} B gzipped${budgeted ? ` (budget ${BUDGET_GZIPPED})` : ""}`);
  sizes[name] = { bytes: bytes.length, gzipped: gz };
  if (budgeted && gz > BUDGET_GZIPPED) {
    console.error(`runtime/dist/${name}: ${gz} B gzipped, over the budget of ${BUDGET_GZIPPED} B (scripts/build.mjs BUDGET_GZIPPED)`);
    process.exitCode = 1;
  }
  const kind = MEDIA.find((k) => name === `driftline-${k}.js`);
  if (kind) {
    mediaDigests[kind] = createHash("sha256").update(bytes).digest("hex");
    // its types: the module is a MediaModule of the runtime's
    const type = { embedding: "EmbeddingModule", tensors: "TensorsModule", logging: "LoggingModule" }[kind] ?? "MediaModule";
    writeFileSync(`${runtimeDist}driftline-${kind}.d.ts`, `import type { ${type} } from "./driftline.js";\ndeclare const ${kind}: ${type};\nexport default ${kind};\n`);
  }
}
if (runtimeOnly) process.exit(0);
// the same figures for the runtime bench (test/bench/runtime)
writeFileSync(`${root}dist/sizes.json`, JSON.stringify(sizes));
for (const file of ORT_FILES) copyIfChanged(`${ORT_DIST}/${file}`, `${site}/sdk/ort/${file}`);
// The dashboard: one minified script beside its page and stylesheet, served at /dashboard/.
mkdirSync(`${site}/dashboard`, { recursive: true });
await build({ entryPoints: [`${root}dashboard/app.ts`], bundle: true, minify: true, format: "esm", target: "es2022", platform: "browser", outfile: `${site}/dashboard/app.js`, logLevel: "warning" });
for (const file of ["index.html", "styles.css"]) copyFileSync(`${root}dashboard/${file}`, `${site}/dashboard/${file}`);
const dashboardGz = ["app.js", "index.html", "styles.css"].reduce((sum, file) => sum + gzipSync(readFileSync(`${site}/dashboard/${file}`), { level: 9 }).length, 0);
console.log(`dist/site/dashboard/    app.js + index.html + styles.css: ${dashboardGz} B gzipped`);
writeFileSync(`${site}/_headers`, HEADERS);
// The demo page (/demo/): embeds the runtime from /sdk/ and predicts records of the demo's public
// data, copied from the installed vega-datasets package (its exports map resolves only its entry).
mkdirSync(`${site}/demo`, { recursive: true });
await build({ entryPoints: [`${root}demo/page/app.ts`], outfile: `${site}/demo/app.js`, bundle: true, minify: true, target: "es2022", format: "iife", logLevel: "warning" });
const vegaData = join(dirname(createRequire(`${root}package.json`).resolve("vega-datasets")), "../data");
copyFileSync(`${root}demo/page/index.html`, `${site}/demo/index.html`);
for (const file of ["birdstrikes.csv", "flights-5k.json"]) copyFileSync(join(vegaData, file), `${site}/demo/${file}`);
console.log(`dist/site/             the collector's static assets (/sdk/, /sdk/ort/: ${ORT_FILES.length} onnxruntime-web files)`);
