// `npm start` logs wrangler dev's output to .wrangler/collector.log, which it opens before
// anything has made .wrangler/ in a fresh clone (startCollector first checks the port).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openLog } from "../../../scripts/lib/collector-process.mjs";

describe("the local collector's log file", () => {
  const dir = mkdtempSync(join(tmpdir(), "driftline-log-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("is opened in a folder that does not exist yet, and appended to", async () => {
    const path = join(dir, "fresh-clone/.wrangler/collector.log");
    for (const line of ["first run\n", "second run\n"]) {
      const log = openLog(path);
      await new Promise<void>((resolve, reject) => {
        log.once("error", reject);
        log.end(line, () => resolve());
      });
    }
    expect(readFileSync(path, "utf8")).toBe("first run\nsecond run\n");
  });
});
