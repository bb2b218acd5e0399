// Globals the runtime test pages set, for typing code passed to page.evaluate.
import type * as DriftlineModule from "../../../runtime/index.ts";

declare global {
  interface Window {
    ready?: boolean;
    Driftline: typeof DriftlineModule;
    /** The runtime under test, kept between evaluate calls. */
    rt: DriftlineModule.Runtime;
    /** \`import()\` in the page (vitest rewrites it inside functions sent to page.evaluate). */
    importModule(url: string): Promise<unknown>;
    /** Anything a test keeps between evaluate calls. */
    keep: Record<string, unknown>;
  }
}
