/**
 * The `<script>` entry (dist/driftline.iife.js, which sets `window.Driftline`): what
 * runtime/index.ts exports, with one addition. The tag's `data-trust` attribute, publishers'
 * public keys separated by spaces, is the `trust` of every `createRuntime` call that gives none
 * (an empty attribute trusts no key: nothing runs).
 *
 * @example
 * <script src="https://collector.example.com/sdk/driftline.iife.js" data-trust="MCowBQYDK2Vw…"></script>
 */
import { createRuntime as create } from "./runtime.ts";
import type { Runtime, RuntimeOptions } from "./types.ts";

export { DriftlineError } from "../protocol/errors.ts";

// read while the tag's script runs: `currentScript` is null afterwards (and in workers)
const tagTrust = (globalThis.document?.currentScript as HTMLScriptElement | null | undefined)?.dataset.trust?.split(/\s+/).filter(Boolean);

/**
 * {@link create | createRuntime}, with the `<script>` tag's `data-trust` keys when `options`
 * has no `trust` of its own.
 *
 * @param options - as for runtime/index.ts's `createRuntime`
 */
export function createRuntime(options: RuntimeOptions): Promise<Runtime> {
  return create({ ...options, trust: options.trust ?? tagTrust });
}
