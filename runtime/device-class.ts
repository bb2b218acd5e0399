import { deviceClass } from "../protocol/device-class.ts";

/** How long the WebGPU adapter may take to answer before the class says `nogpu`. */
const ADAPTER_TIMEOUT_MS = 1000;

interface DeviceNavigator {
  hardwareConcurrency?: number;
  deviceMemory?: number;
  userAgent?: string;
  userAgentData?: { mobile?: boolean };
  gpu?: { requestAdapter(): Promise<{ info?: { vendor?: string } } | null> };
}

/** The WebGPU adapter's vendor, or undefined without an adapter (or when it does not answer in time). */
async function gpuVendor(nav: DeviceNavigator): Promise<string | undefined> {
  if (!nav.gpu) return undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(resolve, ADAPTER_TIMEOUT_MS, undefined)));
  try {
    const adapter = await Promise.race([nav.gpu.requestAdapter().catch(() => null), late]);
    return adapter ? (adapter.info?.vendor ?? "") : undefined;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * This device's coarse class (`desktop-8c-8g-nvidia`, see `deviceClass` in protocol/device-class.ts):
 * form factor, cores and memory in buckets, GPU vendor — what the runtime adds to every report's
 * segment as `device` unless `deviceClass: false`.
 *
 * @param nav - the navigator to read
 * @defaultValue nav `globalThis.navigator`
 */
export async function readDeviceClass(nav: DeviceNavigator = (globalThis as { navigator?: DeviceNavigator }).navigator ?? {}): Promise<string> {
  return deviceClass({
    mobile: nav.userAgentData?.mobile ?? /Mobi|Android|iPhone|iPad/i.test(nav.userAgent ?? ""),
    cores: nav.hardwareConcurrency,
    memoryGb: nav.deviceMemory,
    gpuVendor: await gpuVendor(nav),
  });
}
