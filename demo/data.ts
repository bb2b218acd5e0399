// The demo's two public datasets, read from the installed npm package vega-datasets 3.2.1
// (BSD-3-Clause; sources in its datapackage.json): nothing is downloaded. Shared by the model
// builder (demo/make-models.ts) and the fleet simulator, so both see the same features.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import Papa from "papaparse";
import { type Event, type Flight, flightEvent, strikeEvent } from "./rows.ts";

export type { Event } from "./rows.ts";
export { FLIGHT_FEATURES, STRIKE_FEATURES } from "./rows.ts";

/** The folder of vega-datasets' data files, found through the package's own entry point. */
export function vegaDataDir(): string {
  // the package's exports map resolves only "vega-datasets" (build/index.js); data/ is beside build/
  const entry = createRequire(join(process.cwd(), "package.json")).resolve("vega-datasets");
  return join(dirname(entry), "..", "data");
}

const STATES: Record<string, [string, string]> = {
  AL: ["Alabama", "South"],
  AK: ["Alaska", "West"],
  AZ: ["Arizona", "West"],
  AR: ["Arkansas", "South"],
  CA: ["California", "West"],
  CO: ["Colorado", "West"],
  CT: ["Connecticut", "Northeast"],
  DE: ["Delaware", "South"],
  DC: ["District of Columbia", "South"],
  FL: ["Florida", "South"],
  GA: ["Georgia", "South"],
  HI: ["Hawaii", "West"],
  ID: ["Idaho", "West"],
  IL: ["Illinois", "Midwest"],
  IN: ["Indiana", "Midwest"],
  IA: ["Iowa", "Midwest"],
  KS: ["Kansas", "Midwest"],
  KY: ["Kentucky", "South"],
  LA: ["Louisiana", "South"],
  ME: ["Maine", "Northeast"],
  MD: ["Maryland", "South"],
  MA: ["Massachusetts", "Northeast"],
  MI: ["Michigan", "Midwest"],
  MN: ["Minnesota", "Midwest"],
  MS: ["Mississippi", "South"],
  MO: ["Missouri", "Midwest"],
  MT: ["Montana", "West"],
  NE: ["Nebraska", "Midwest"],
  NV: ["Nevada", "West"],
  NH: ["New Hampshire", "Northeast"],
  NJ: ["New Jersey", "Northeast"],
  NM: ["New Mexico", "West"],
  NY: ["New York", "Northeast"],
  NC: ["North Carolina", "South"],
  ND: ["North Dakota", "Midwest"],
  OH: ["Ohio", "Midwest"],
  OK: ["Oklahoma", "South"],
  OR: ["Oregon", "West"],
  PA: ["Pennsylvania", "Northeast"],
  RI: ["Rhode Island", "Northeast"],
  SC: ["South Carolina", "South"],
  SD: ["South Dakota", "Midwest"],
  TN: ["Tennessee", "South"],
  TX: ["Texas", "South"],
  UT: ["Utah", "West"],
  VT: ["Vermont", "Northeast"],
  VA: ["Virginia", "South"],
  WA: ["Washington", "West"],
  WV: ["West Virginia", "South"],
  WI: ["Wisconsin", "Midwest"],
  WY: ["Wyoming", "West"],
};
const REGION_OF_CODE = new Map(Object.entries(STATES).map(([code, [, region]]) => [code, region]));
const REGION_OF_NAME = new Map(Object.values(STATES).map(([name, region]) => [name, region]));

/**
 * The 10,000 FAA wildlife-strike reports of `birdstrikes.csv` (1990–2002), sorted by date (ties
 * keep the file's order). Label: `damage` when "Effect Amount of damage" is anything but "None".
 */
export function readBirdstrikes(dir = vegaDataDir()): Event[] {
  const parsed = Papa.parse<Record<string, string>>(readFileSync(join(dir, "birdstrikes.csv"), "utf8"), { header: true, skipEmptyLines: true });
  const events = parsed.data.map((r) => strikeEvent(r, REGION_OF_NAME.get(r["Origin State"] ?? "") ?? "other"));
  return stable(events);
}

/**
 * The flights of `flights-3m.parquet` (2001-01-01 to 06-30) that `keep` accepts, as
 * {@link flightEvent} makes them, sorted by departure. Reads one row group at a time, so only
 * it and the kept flights are in memory.
 *
 * @param keep - which flights to keep, by their index in the file (in departure order) and departure time
 */
export async function readFlights(keep: (index: number, at: number) => boolean, dir = vegaDataDir()): Promise<Event[]> {
  const file = await asyncBufferFromFile(join(dir, "flights-3m.parquet"));
  const metadata = await parquetMetadataAsync(file);
  const regions = airportRegions(dir);
  const events: Event[] = [];
  let index = 0;
  for (const group of metadata.row_groups) {
    const rowStart = index;
    const rowEnd = rowStart + Number(group.num_rows);
    const rows = (await parquetReadObjects({ file, metadata, compressors, rowStart, rowEnd })) as Flight[];
    for (const f of rows) {
      if (keep(index++, f.date.getTime())) events.push(flightEvent(f, regions.get(f.origin) ?? "other"));
    }
  }
  return stable(events);
}

/** IATA code → census region, from vega-datasets' airports.csv. */
function airportRegions(dir: string): Map<string, string> {
  const parsed = Papa.parse<Record<string, string>>(readFileSync(join(dir, "airports.csv"), "utf8"), { header: true, skipEmptyLines: true });
  return new Map(parsed.data.map((a) => [a.iata!, REGION_OF_CODE.get(a.state!) ?? "other"]));
}

/** Sorted by time; rows at the same time keep their order (Array.prototype.sort is stable). */
function stable(events: Event[]): Event[] {
  return events.sort((a, b) => a.at - b.at);
}
