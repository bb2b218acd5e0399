// A second `npm start` on the port of a collector that runs already: it must stop, not go on
// against the running one (whose /healthz answers), revoking its keys and replaying into it.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCollector } from "../../scripts/lib/collector-process.mjs";

describe("a local collector on a port in use", () => {
  const dir = mkdtempSync(join(tmpdir(), "driftline-port-"));
  let running: Awaited<ReturnType<typeof startCollector>>;

  beforeAll(async () => {
    running = await startCollector({ adminKey: "adm_port_e2e_first", persistTo: join(dir, "state") });
  });

  afterAll(async () => {
    await running?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("is refused, saying the port is in use; the running collector still answers", async () => {
    const second = startCollector({ port: running.port, adminKey: "adm_port_e2e_second", persistTo: join(dir, "state") });
    await expect(second).rejects.toThrow(`127.0.0.1:${running.port} is in use already: stop what listens there (another npm start?) or choose another port (PORT=${running.port + 1} npm start)`);
    const keys = await fetch(`${running.url}/v1/keys`, { headers: { authorization: "Bearer adm_port_e2e_first" } });
    expect(keys.status).toBe(200);
  });
});
