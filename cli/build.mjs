// Bundles the CLI (cli/main.ts with the protocol/ sources it imports) into cli/dist/cli.mjs with
// esbuild. The npm packages this package declares as dependencies stay imports; everything else
// (protocol/ and zod, which only protocol/ imports) is bundled, so the packed CLI needs nothing
// from this repository. `node cli/build.mjs` (or the package's `prepack`) runs it; cli/bin.js
// runs it in a checkout whenever a source is newer than the bundle.
import { build } from "esbuild";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";

const here = new URL(".", import.meta.url).pathname;

/** The bundle cli/bin.js runs. */
export const bundle = `${here}dist/cli.mjs`;

/**
 * Writes {@link bundle} from the sources, whole or not at all (a `driftline` started meanwhile
 * reads the old bundle or the new one, never half of one).
 */
export async function buildCli() {
  const { dependencies } = JSON.parse(readFileSync(`${here}package.json`, "utf8"));
  const result = await build({
    entryPoints: [`${here}main.ts`],
    outfile: bundle,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    external: Object.keys(dependencies).flatMap((name) => [name, `${name}/*`]),
    sourcemap: "inline",
    logLevel: "warning",
    write: false,
  });
  const [output] = result.outputFiles;
  if (!output) throw new Error("esbuild wrote no CLI bundle");
  mkdirSync(`${here}dist`, { recursive: true });
  const partial = `${bundle}.${process.pid}.tmp`;
  writeFileSync(partial, output.contents);
  renameSync(partial, bundle);
}

if (process.argv[1] === new URL(import.meta.url).pathname) await buildCli();
