import { describe, expect, test } from "vitest";
import { bucket, hash32, sha256Hex } from "../../../protocol/hash.ts";

describe("hash", () => {
  test("sha256Hex matches the standard test vector", async () => {
    expect(await sha256Hex(new TextEncoder().encode("abc"))).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  test("hash32 is MurmurHash3 x86_32 of UTF-8", () => {
    expect(hash32("")).toBe(0);
    expect(hash32("hello")).toBe(0x248bfa47);
    expect(hash32("The quick brown fox jumps over the lazy dog")).toBe(0x2e4ff723);
    expect(hash32("", 1)).toBe(0x514e28b7);
    expect(hash32("é")).toBe(hash32("\u00e9"));
  });

  test("bucket spreads keys evenly", () => {
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 10000; i++) counts[bucket(`client-${i}:churn:salt`, 10)]!++;
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(150);
  });
});
