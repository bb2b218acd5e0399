// The packages as their users get them: `npm pack` of runtime/ (`driftline`) and cli/
// (`@driftline/cli`); the runtime's tarball installed into a scratch app (TypeScript strict, esbuild)
// that type-checks and bundles a call of `createRuntime` with two optional modules; the CLI's tarball installed globally into
// a scratch prefix, whose `driftline --help` runs. Nothing of this repository is reachable from
// either install: each works from what its tarball holds and what npm installs beside it.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lockSubset } from "../../scripts/lib/lock-subset.mjs";

const root = new URL("../..", import.meta.url).pathname;
const runtimePackage = JSON.parse(readFileSync(join(root, "runtime/package.json"), "utf8")) as { peerDependencies: Record<string, string>; devDependencies: Record<string, string> };
const run = promisify(execFile);
const npmEnv = { ...process.env, npm_config_update_notifier: "false", npm_config_loglevel: "error" };

/** What `npm pack --json` says of one tarball. */
interface Packed {
  name: string;
  version: string;
  filename: string;
  integrity: string;
  files: { path: string }[];
}

/** The consumer's code: the README's example, typed, plus a wrong option the types must reject. */
const APP = `import { createRuntime, DriftlineError, type Prediction, type RuntimeOptions } from "driftline";

const options: RuntimeOptions = { collector: "https://collector.example.com", key: "ing_example", model: "churn" };

export async function score(tenure: number, plan: string): Promise<Prediction> {
  const rt = await createRuntime(options);
  try {
    return await rt.predict({ tenure, plan });
  } catch (err) {
    if (err instanceof DriftlineError && err.code === "rate_limited") return score(tenure, plan);
    throw err;
  } finally {
    await rt.close();
  }
}

// @ts-expect-error the model name is a string: the package's types are real, not any
export const wrong = () => createRuntime({ ...options, model: 42 });

// an image model, its optional module bundled with the app
import image from "driftline/image";
export async function classify(picture: ImageData): Promise<string | undefined> {
  const rt = await createRuntime({ ...options, model: "pets", media: { image } });
  return (await rt.predict({ image: picture })).label;
}

// prediction logging, its module bundled too (so pages that start offline log as well)
import logging from "driftline/logging";
export const logged = () => createRuntime({ ...options, logging: true, media: { logging } });
// @ts-expect-error an image module is not the logging module
export const mixedUp = () => createRuntime({ ...options, media: { logging: image } });
`;

const TSCONFIG = {
  compilerOptions: {
    target: "ES2022",
    module: "ESNext",
    moduleResolution: "Bundler",
    lib: ["ES2022", "DOM", "DOM.Iterable"],
    types: [],
    strict: true,
    noUncheckedIndexedAccess: true,
    verbatimModuleSyntax: true,
    skipLibCheck: false,
    noEmit: true,
  },
  include: ["src"],
};

describe("npm packages", () => {
  const dir = mkdtempSync(join(tmpdir(), "driftline-packages-"));
  let runtime: Packed;
  let cli: Packed;

  beforeAll(async () => {
    // prepack builds each package (the runtime with --runtime: dist/site, which running collectors serve, is left alone)
    const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", dir, "-w", "runtime", "-w", "cli"], { cwd: root, env: npmEnv, maxBuffer: 1 << 24 });
    // the prepack scripts print before npm's JSON
    const packed = JSON.parse(stdout.slice(stdout.search(/^\[/m))) as Packed[];
    runtime = packed.find((p) => p.name === "driftline")!;
    cli = packed.find((p) => p.name === "@driftline/cli")!;
  }, 600_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("packs the runtime as its builds, their types and package.json, no sources", () => {
    const modules = ["audio", "embedding", "image", "logging", "tensors", "text"].flatMap((m) => [`dist/driftline-${m}.d.ts`, `dist/driftline-${m}.js`, `dist/driftline-${m}.js.map`]);
    expect(runtime.files.map((f) => f.path).sort()).toEqual([
      ...modules,
      "dist/driftline.d.ts",
      "dist/driftline.iife.js",
      "dist/driftline.iife.js.map",
      "dist/driftline.js",
      "dist/driftline.js.map",
      "package.json",
    ]);
    expect(cli.files.map((f) => f.path).sort()).toEqual(["bin.js", "dist/cli.mjs", "package.json"]);
  });

  it("installs the runtime into a strict TypeScript app offline, which type-checks and bundles createRuntime and driftline/image", async () => {
    const app = join(dir, "app");
    mkdirSync(join(app, "src"), { recursive: true });
    writeFileSync(join(app, "src/main.ts"), APP);
    writeFileSync(join(app, "tsconfig.json"), JSON.stringify(TSCONFIG, null, 2));
    // A lockfile: npm installs from the cache alone only what a lockfile names (a bare
    // `npm install name@version` needs registry metadata, which `npm ci` never caches).
    const tarball = `file:../${runtime.filename}`;
    // the peer at the version this repository tests with
    const dependencies = { driftline: tarball, "onnxruntime-web": runtimePackage.devDependencies["onnxruntime-web"]! };
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module", dependencies }, null, 2));
    const packedManifest = { version: runtime.version, resolved: tarball, integrity: runtime.integrity, license: "Apache-2.0", peerDependencies: runtimePackage.peerDependencies };
    const lock = { name: "app", lockfileVersion: 3, requires: true, packages: { "": { name: "app", dependencies }, "node_modules/driftline": packedManifest, ...lockSubset(["onnxruntime-web"]) } };
    writeFileSync(join(app, "package-lock.json"), JSON.stringify(lock, null, 2));
    await run("npm", ["install", "--offline", "--no-audit", "--no-fund"], { cwd: app, env: npmEnv });

    const installed = JSON.parse(readFileSync(join(app, "node_modules/driftline/package.json"), "utf8"));
    expect(installed.peerDependencies).toEqual({ "onnxruntime-web": expect.any(String) });
    expect(installed.dependencies).toBeUndefined();

    const tsc = await run(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", app], { cwd: app }).then(
      () => "",
      (err: { stdout: string }) => err.stdout,
    );
    expect(tsc).toBe("");

    const bundled = await build({
      entryPoints: [join(app, "src/main.ts")],
      absWorkingDir: app,
      bundle: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      write: false,
      metafile: true,
      logLevel: "silent",
    });
    expect(bundled.errors).toEqual([]);
    const inputs = Object.keys(bundled.metafile.inputs);
    expect(inputs).toContain("node_modules/driftline/dist/driftline.js");
    // the app imported driftline/image and driftline/logging; audio, text, embedding and tensors are not in its bundle
    expect(inputs.filter((path) => path.includes("driftline/dist/driftline-"))).toEqual(["node_modules/driftline/dist/driftline-image.js", "node_modules/driftline/dist/driftline-logging.js"]);
    expect(bundled.outputFiles[0]!.text).toContain("https://collector.example.com");
    // In browsers the runtime loads onnxruntime-web from the collector (checked against its
    // build-time hashes); its `import("onnxruntime-web")` is for Node only, and the package's
    // `browser` field keeps bundlers from pulling ~400 KB of it into every app.
    expect(inputs.filter((path) => path.includes("onnxruntime-web") && !path.startsWith("(disabled)"))).toEqual([]);
  }, 300_000);

  it("installs the CLI globally into a scratch prefix, where `driftline --help` lists its commands", async () => {
    const prefix = join(dir, "prefix");
    // --prefer-offline: from the npm cache where it has the packages (a global install reads no lockfile)
    await run("npm", ["install", "-g", "--prefix", prefix, "--prefer-offline", "--no-audit", "--no-fund", join(dir, cli.filename)], { cwd: dir, env: npmEnv });
    const { stdout } = await run(join(prefix, "bin/driftline"), ["--help"], { cwd: dir, env: { PATH: process.env.PATH } });
    expect(stdout).toMatch(/^usage: driftline <command> \[options\]/m);
    for (const command of ["profile", "publish", "rollout", "rollback", "status", "drift"]) expect(stdout).toMatch(new RegExp(`^  ${command} `, "m"));
  }, 300_000);
});
