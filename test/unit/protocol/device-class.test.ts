import { describe, expect, it } from "vitest";
import { deviceClass } from "../../../protocol/device-class.ts";
import { readDeviceClass } from "../../../runtime/device-class.ts";

describe("device class", () => {
  it("buckets cores and memory and names only listed GPU vendors", () => {
    expect(deviceClass({ mobile: false, cores: 12, memoryGb: 8, gpuVendor: "nvidia" })).toBe("desktop-16c-8g-nvidia");
    expect(deviceClass({ mobile: true, cores: 3, memoryGb: 0.5, gpuVendor: "Qualcomm" })).toBe("mobile-4c-2g-qualcomm");
    expect(deviceClass({ mobile: false, cores: 64, memoryGb: 32, gpuVendor: "ACME GPU 3000 rev 7" })).toBe("desktop-16c-8g-other");
    expect(deviceClass({ mobile: false })).toBe("desktop-xc-xg-nogpu");
  });

  it("has at most 440 values, none carrying a raw number", () => {
    const seen = new Set<string>();
    for (const mobile of [false, true])
      for (let cores = 0; cores <= 256; cores++)
        for (const memoryGb of [undefined, 0.25, 0.5, 1, 2, 4, 8, 16, 64])
          for (const gpuVendor of [undefined, "", "nvidia", "amd", "intel", "apple", "qualcomm", "arm", "imagination", "microsoft", "google", "x", "vendor-0x10de"])
            seen.add(deviceClass({ mobile, cores, memoryGb, gpuVendor }));
    expect(seen.size).toBeLessThanOrEqual(440);
    for (const c of seen) expect(c).toMatch(/^(mobile|desktop)-(2|4|8|16|x)c-(2|4|8|x)g-[a-z]+$/);
  });

  it("reads the navigator: user-agent data, cores, memory and the WebGPU adapter's vendor", async () => {
    const gpu = { requestAdapter: async () => ({ info: { vendor: "apple" } }) };
    expect(await readDeviceClass({ hardwareConcurrency: 8, deviceMemory: 4, userAgentData: { mobile: true }, gpu })).toBe("mobile-8c-4g-apple");
    expect(await readDeviceClass({ hardwareConcurrency: 2, userAgent: "Mozilla/5.0 (X11; Linux x86_64)" })).toBe("desktop-2c-xg-nogpu");
    expect(await readDeviceClass({ userAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0)", gpu: { requestAdapter: async () => null } })).toBe("mobile-xc-xg-nogpu");
  });
});
