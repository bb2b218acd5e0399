// The layout rule (docs/architecture.md): protocol/ imports nothing of ours; runtime/, collector/, dashboard/
// and cli/ import protocol/ (and npm packages) but never each other.
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

/** Import cycles among the files under `dirs` (type-only imports included), each as "a -> b -> a". */
function findCycles(root: string, dirs: string[]): string[] {
  const edges = new Map<string, string[]>();
  for (const dir of dirs) {
    for (const file of sourceFiles(join(root, dir))) {
      const targets: string[] = [];
      for (const match of readFileSync(file, "utf8").matchAll(SPECIFIER)) {
        const specifier = match[1] ?? match[2] ?? match[3] ?? match[4]!;
        if (specifier.startsWith(".")) targets.push(relative(root, resolve(dirname(file), specifier)));
      }
      edges.set(relative(root, file), targets);
    }
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

describe("layout rule", () => {
  const root = new URL("../..", import.meta.url).pathname;

  it("holds in this repository", () => {
    expect(findLayoutViolations(root)).toEqual([]);
  });

  it("has no import cycles in runtime/ and protocol/, type-only imports included", () => {
    expect(findCycles(root, ["runtime", "protocol"])).toEqual([]);
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
