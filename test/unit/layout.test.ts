// The layout rules (docs/architecture.md): protocol/ imports nothing of ours; runtime/, collector/, dashboard/
// and cli/ import protocol/ (and npm packages) but never each other. Inside collector/: stored windows
// (aggregates/) stand below the write path (ingest/) and the readers, the write path is entered only by the
// report route and the Worker's entry, and settings are read only in collector/config.ts. Tests mirror the
// source folder they test, inside their environment's folder (test/unit/..., test/worker/...), and the
// README and docs/ name only test files that exist (a test moved or renamed leaves no stale pointer).
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve, sep } from "node:path";
import { describe, expect, it } from "vitest";

const PARTS = ["protocol", "runtime", "collector", "dashboard", "cli"] as const;
const OURS = [...PARTS, "demo", "test", "scripts"];
const SOURCE = /\.(ts|tsx|mts|js|mjs|html)$/;
const SPECIFIER = /(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|import\s*\(\s*["']([^"']+)["']\s*\)|import\s+["']([^"']+)["']|require\s*\(\s*["']([^"']+)["']\s*\)/g;

function sourceFiles(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const path = join(dir, name);
    if (name === "node_modules") return [];
    return statSync(path).isDirectory() ? sourceFiles(path) : SOURCE.test(name) ? [path] : [];
  });
}

/** Every import of one part into a part (or folder of ours) it must not depend on, as "file -> specifier". */
function findLayoutViolations(root: string): string[] {
  const violations: string[] = [];
  for (const part of PARTS) {
    const allowed = part === "protocol" ? ["protocol"] : ["protocol", part];
    for (const file of sourceFiles(join(root, part))) {
      for (const match of readFileSync(file, "utf8").matchAll(SPECIFIER)) {
        const specifier = match[1] ?? match[2] ?? match[3] ?? match[4]!;
        if (!specifier.startsWith(".") && !specifier.startsWith("/")) continue; // an npm package
        const target = relative(root, resolve(dirname(file), specifier));
        const top = target.split(sep)[0]!;
        if (OURS.includes(top) && !allowed.includes(top)) violations.push(`${relative(root, file)} -> ${specifier}`);
      }
    }
  }
  return violations;
}

/** One relative import: the importing file, what it wrote, and the path it names, all relative to the root. */
interface RelativeImport {
  file: string;
  specifier: string;
  target: string;
}

/** The relative imports (type-only included) of every source file under `dir`. */
function relativeImports(root: string, dir: string): RelativeImport[] {
  return sourceFiles(join(root, dir)).flatMap((path) =>
    [...readFileSync(path, "utf8").matchAll(SPECIFIER)]
      .map((match) => match[1] ?? match[2] ?? match[3] ?? match[4]!)
      .filter((specifier) => specifier.startsWith("."))
      .map((specifier) => ({ file: relative(root, path), specifier, target: relative(root, resolve(dirname(path), specifier)) })),
  );
}

/** Import cycles among the files under `dirs` (type-only imports included), each as "a -> b -> a". */
function findCycles(root: string, dirs: string[]): string[] {
  const edges = new Map<string, string[]>();
  for (const dir of dirs) {
    for (const file of sourceFiles(join(root, dir))) edges.set(relative(root, file), []);
    for (const { file, target } of relativeImports(root, dir)) edges.get(file)!.push(target);
  }
  const cycles: string[] = [];
  const state = new Map<string, "open" | "done">();
  const visit = (file: string, path: string[]) => {
    if (state.get(file) === "done") return;
    if (state.get(file) === "open") {
      cycles.push([...path.slice(path.indexOf(file)), file].join(" -> "));
      return;
    }
    state.set(file, "open");
    for (const next of edges.get(file) ?? []) if (edges.has(next)) visit(next, [...path, file]);
    state.set(file, "done");
  };
  for (const file of edges.keys()) visit(file, []);
  return cycles;
}

/**
 * What the files of a collector folder (or file) may import of the collector; protocol/ and npm packages are
 * always allowed. A path ending in "/" is a folder.
 */
const COLLECTOR_MAY_IMPORT: Record<string, string[]> = {
  // settings are a leaf: every part may read them
  "collector/config.ts": [],
  // stored windows: the rows, their format and how ranges tile them; no writer, reader or route
  "collector/aggregates/": ["collector/aggregates/", "collector/db/", "collector/config.ts"],
  // the write path files into stored windows; it knows nothing of drift, alerts, the registry or routes
  "collector/ingest/": ["collector/ingest/", "collector/aggregates/", "collector/db/", "collector/config.ts"],
};

/** The only files outside collector/ingest/ that import it: the report route and the Worker's entry (it exports the Durable Object). */
const INGEST_ENTRIES = ["collector/routes/reports.ts", "collector/index.ts"];

const under = (path: string, prefix: string) => (prefix.endsWith("/") ? path.startsWith(prefix) : path === prefix);

/** Every import across the collector's inner layers, as "file -> specifier". */
function findCollectorViolations(root: string): string[] {
  const violations: string[] = [];
  for (const { file, specifier, target } of relativeImports(root, "collector")) {
    if (!target.startsWith("collector/")) continue;
    const rule = Object.keys(COLLECTOR_MAY_IMPORT).find((prefix) => under(file, prefix));
    const refused = rule ? !COLLECTOR_MAY_IMPORT[rule]!.some((allowed) => under(target, allowed)) : target.startsWith("collector/ingest/") && !INGEST_ENTRIES.includes(file);
    if (refused) violations.push(`${file} -> ${specifier}`);
  }
  return violations;
}

/** Code without its comments (strings kept, so a `//` inside one stays). */
function withoutComments(text: string): string {
  return text.replace(/("(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`)|\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, (_match, literal: string | undefined) => literal ?? "");
}

/** Collector code outside collector/config.ts that names a `[vars]` setting of wrangler.toml, as "file: NAME". */
function findSettingReads(root: string): string[] {
  const toml = readFileSync(join(root, "wrangler.toml"), "utf8");
  const vars = /^\[vars\]\n([\s\S]*?)(?=^\[)/m.exec(toml)?.[1] ?? "";
  const names = [...vars.matchAll(/^([A-Z][A-Z0-9_]*)\s*=/gm)].map((m) => m[1]!);
  const reads: string[] = [];
  for (const path of sourceFiles(join(root, "collector"))) {
    const file = relative(root, path);
    if (file === "collector/config.ts" || file.endsWith(".d.ts")) continue;
    const code = withoutComments(readFileSync(path, "utf8"));
    for (const name of names) if (new RegExp(`\\b${name}\\b`).test(code)) reads.push(`${file}: ${name}`);
  }
  return reads;
}

/** Test files of `env` (test/<env>/) not in a folder that mirrors a source folder, e.g. test/unit/collector/aggregates/ for collector/aggregates/. */
function findMisplacedTests(root: string, env: string): string[] {
  const base = join(root, "test", env);
  return sourceFiles(base)
    .filter((path) => path.endsWith(".test.ts") && relative(root, path) !== "test/unit/layout.test.ts")
    .filter((path) => {
      const dir = relative(base, dirname(path));
      if (dir === "") return true;
      try {
        return !statSync(join(root, dir)).isDirectory();
      } catch {
        return true;
      }
    })
    .map((path) => relative(root, path));
}

/** Test files (`test/….test.ts`) README.md and docs/*.md name that do not exist, as "doc: path". */
function findMissingTestFiles(root: string): string[] {
  const docs = [
    "README.md",
    ...readdirSync(join(root, "docs"))
      .filter((f) => f.endsWith(".md"))
      .map((f) => `docs/${f}`),
  ];
  return docs.flatMap((doc) =>
    [...new Set(readFileSync(join(root, doc), "utf8").match(/\btest\/[\w./-]+\.test\.ts\b/g) ?? [])]
      .filter((path) => {
        try {
          return !statSync(join(root, path)).isFile();
        } catch {
          return true;
        }
      })
      .map((path) => `${doc}: ${path}`),
  );
}

describe("layout rule", () => {
  const root = new URL("../..", import.meta.url).pathname;

  it("holds in this repository", () => {
    expect(findLayoutViolations(root)).toEqual([]);
  });

  it("has no import cycles in runtime/ and protocol/, type-only imports included", () => {
    expect(findCycles(root, ["runtime", "protocol"])).toEqual([]);
  });

  it("keeps the collector's layers: aggregates/ and ingest/ import only what is below them, and only the report route enters ingest/", () => {
    expect(findCollectorViolations(root)).toEqual([]);
  });

  it("reads every [vars] setting in collector/config.ts only", () => {
    expect(findSettingReads(root)).toEqual([]);
  });

  it("keeps unit and worker tests in folders that mirror their sources", () => {
    expect([...findMisplacedTests(root, "unit"), ...findMisplacedTests(root, "worker")]).toEqual([]);
  });

  it("names in README.md and docs/ only test files that exist", () => {
    expect(findMissingTestFiles(root)).toEqual([]);
  });

  it("catches a collector layer importing above itself, a setting read outside config.ts, a misplaced test and a doc naming a missing test file", () => {
    const fake = mkdtempSync(join(tmpdir(), "layout-"));
    try {
      const write = (path: string, text: string) => {
        mkdirSync(dirname(join(fake, path)), { recursive: true });
        writeFileSync(join(fake, path), text);
      };
      write("wrangler.toml", `name = "x"\n[vars]\n# a setting\nFLUSH_INTERVAL_MS = "10000"\n\n[[ratelimits]]\nname = "LIMIT"\n`);
      write("collector/config.ts", `export const flushIntervalMs = (env: { FLUSH_INTERVAL_MS?: string }) => Number(env.FLUSH_INTERVAL_MS);`);
      write("collector/aggregates/store.ts", `import type { X } from "../ingest/x.ts";\nimport { y } from "./y.ts";\nimport { z } from "../../protocol/z.ts";`);
      write("collector/ingest/x.ts", `import type { D } from "../drift/d.ts";\nimport { s } from "../aggregates/store.ts";\nimport { c } from "../config.ts";`);
      write("collector/drift/d.ts", `import { x } from "../ingest/x.ts";\n// FLUSH_INTERVAL_MS is read in config.ts\nconst url = "https://example.com"; const ms = env.FLUSH_INTERVAL_MS;`);
      write("collector/routes/reports.ts", `import { x } from "../ingest/x.ts";`);
      write("collector/config.test.ts", "");
      write("test/unit/collector/aggregates/store.test.ts", "");
      write("test/unit/collector/nowhere/store.test.ts", "");
      write("test/worker/flat.test.ts", "");
      write("README.md", "Tests: `test/unit/collector/aggregates/store.test.ts`, test/worker/gone.test.ts.");
      write("docs/a.md", "see test/unit/collector/nowhere/store.test.ts and test/unit/moved.test.ts");
      expect(findCollectorViolations(fake).sort()).toEqual(["collector/aggregates/store.ts -> ../ingest/x.ts", "collector/drift/d.ts -> ../ingest/x.ts", "collector/ingest/x.ts -> ../drift/d.ts"]);
      expect(findSettingReads(fake)).toEqual(["collector/drift/d.ts: FLUSH_INTERVAL_MS"]);
      expect([...findMisplacedTests(fake, "unit"), ...findMisplacedTests(fake, "worker")]).toEqual(["test/unit/collector/nowhere/store.test.ts", "test/worker/flat.test.ts"]);
      expect(findMissingTestFiles(fake)).toEqual(["README.md: test/worker/gone.test.ts", "docs/a.md: test/unit/moved.test.ts"]);
    } finally {
      rmSync(fake, { recursive: true, force: true });
    }
  });

  it("catches an import cycle", () => {
    const fake = mkdtempSync(join(tmpdir(), "layout-"));
    try {
      mkdirSync(join(fake, "runtime"));
      writeFileSync(join(fake, "runtime/a.ts"), `import type { B } from "./b.ts";`);
      writeFileSync(join(fake, "runtime/b.ts"), `import { a } from "./a.ts";`);
      writeFileSync(join(fake, "runtime/c.ts"), `import { a } from "./a.ts";`);
      expect(findCycles(fake, ["runtime"])).toEqual(["runtime/a.ts -> runtime/b.ts -> runtime/a.ts"]);
    } finally {
      rmSync(fake, { recursive: true, force: true });
    }
  });

  it("catches protocol/ importing a part and parts importing each other", () => {
    const fake = mkdtempSync(join(tmpdir(), "layout-"));
    try {
      const write = (path: string, text: string) => {
        mkdirSync(dirname(join(fake, path)), { recursive: true });
        writeFileSync(join(fake, path), text);
      };
      write("protocol/a.ts", `import { x } from "../runtime/x.ts";\nimport { z } from "zod";`);
      write("runtime/x.ts", `export { y } from "../collector/y.ts";\nimport { p } from "../protocol/a.ts";`);
      write("collector/y.ts", `const m = await import("../dashboard/app.ts");`);
      write("cli/main.ts", `import "../runtime/x.ts";`);
      write("dashboard/app.ts", `import { ok } from "./ok.ts";`);
      expect(findLayoutViolations(fake).sort()).toEqual([
        "cli/main.ts -> ../runtime/x.ts",
        "collector/y.ts -> ../dashboard/app.ts",
        "protocol/a.ts -> ../runtime/x.ts",
        "runtime/x.ts -> ../collector/y.ts",
      ]);
    } finally {
      rmSync(fake, { recursive: true, force: true });
    }
  });
});
