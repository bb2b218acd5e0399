/**
 * The `<script>` entry (dist/driftline.iife.js): sets `window.Driftline` to what runtime/index.ts
 * exports, with one addition. The tag's `data-trust` attribute, publishers' public keys separated
 * by spaces, is the `trust` of every `createRuntime` call that gives none (an empty attribute
 * trusts no key: nothing runs).
 *
 * @example
 * <script src="https://collector.example.com/sdk/driftline.iife.js" data-trust="MCowBQYDK2Vw…"></script>
 */
import { createRuntime as create } from "./runtime.ts";
import { DriftlineError } from "../protocol/errors.ts";
import type { Runtime, RuntimeOptions } from "./types.ts";

// read while the tag's script runs: `currentScript` is null afterwards (and in workers)
const tagTrust = (globalThis.document?.currentScript as HTMLScriptElement | null | undefined)?.dataset.trust?.split(/\s+/).filter(Boolean);

/**
 * {@link create | createRuntime}, with the `<script>` tag's `data-trust` keys when `options`
 * has no `trust` of its own.
 *
 * @param options - as for runtime/index.ts's `createRuntime`
 */
const createRuntime = (options: RuntimeOptions): Promise<Runtime> => create({ ...options, trust: options?.trust ?? tagTrust });

// set here rather than by esbuild's `globalName`, whose export helpers cost ~200 bytes
(globalThis as { Driftline?: unknown }).Driftline = { createRuntime, DriftlineError };
