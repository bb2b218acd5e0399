/** The segment key under which the runtime reports its device class. */
export const DEVICE_SEGMENT_KEY = "device";

/** GPU adapter vendors named in a device class; any other vendor is `other`, no adapter `nogpu`. */
export const GPU_VENDORS = ["nvidia", "amd", "intel", "apple", "qualcomm", "arm", "imagination", "microsoft", "google"] as const;

/** What a device class is made of, as the browser exposes it (missing: unknown). */
export interface DeviceTraits {
  /** `navigator.userAgentData.mobile`, or a mobile user agent. */
  mobile: boolean;
  /** `navigator.hardwareConcurrency`. */
  cores?: number | undefined;
  /** `navigator.deviceMemory`, in GiB (browsers already round it to a power of 2, at most 8). */
  memoryGb?: number | undefined;
  /** The WebGPU adapter's `info.vendor`; undefined when there is no adapter. */
  gpuVendor?: string | undefined;
}

/** Smallest bucket at least `x` (the last one above it). */
const bucket = (x: number, buckets: readonly number[]) => buckets.find((b) => x <= b) ?? buckets.at(-1)!;

/**
 * The coarse device class of a device: form factor, cores in 4 buckets (2, 4, 8, 16 = more
 * than 8), memory in 3 (2 = at most 2 GiB, 4, 8 = 8 or more) and the GPU vendor from a fixed
 * list — at most 2 × 5 × 4 × 11 = 440 classes, each shared by a large part of all devices
 * (docs/privacy.md says why it is not a fingerprint). Unknown parts are `x`.
 *
 * @param t - what the browser exposes
 * @example
 * deviceClass({ mobile: false, cores: 12, memoryGb: 8, gpuVendor: "nvidia" }) // "desktop-16c-8g-nvidia"
 */
export function deviceClass(t: DeviceTraits): string {
  const cores = t.cores !== undefined && t.cores > 0 ? `${bucket(t.cores, [2, 4, 8, 16])}c` : "xc";
  const memory = t.memoryGb !== undefined && t.memoryGb > 0 ? `${bucket(t.memoryGb, [2, 4, 8])}g` : "xg";
  const vendor = t.gpuVendor === undefined ? "nogpu" : (GPU_VENDORS.find((v) => t.gpuVendor!.toLowerCase() === v) ?? "other");
  return `${t.mobile ? "mobile" : "desktop"}-${cores}-${memory}-${vendor}`;
}
