// What the demo models read from one record of the public data, and the truth the device learns
// later. Pure functions, shared by the model builder, the fleet simulator and the demo page.

/** One replayed row: when it happened, what the model gets, the truth and when it is known. */
export interface Event {
  /** Epoch ms (data time, UTC) of the event: the strike's day, the flight's scheduled departure. */
  at: number;
  /** The model's features, by name (null: missing). */
  row: Record<string, string | number | null>;
  /** The true class. */
  label: string;
  /** Epoch ms (data time) when the truth is known: the flight lands, the strike is inspected. */
  labelAt: number;
  /** US census region of the airport (`Northeast`, `Midwest`, `South`, `West`, `other`). */
  region: string;
}

/** The FAA wildlife-strike reports' features the damage model reads, in the model's column order. */
export const STRIKE_FEATURES = [
  "Airport Name",
  "Aircraft Make Model",
  "Aircraft Airline Operator",
  "Origin State",
  "Phase of flight",
  "Wildlife Size",
  "Wildlife Species",
  "Time of day",
  "Speed IAS in knots",
] as const;

/** Days after a strike that its damage is known (the inspection). */
const INSPECTION_DAYS = 2;

/**
 * One record of vega-datasets' `birdstrikes.csv` as the damage model sees it. Label: `damage`
 * when "Effect Amount of damage" is anything but "None"; known two days after the strike.
 *
 * @param r - the CSV record, by column name
 * @param region - the census region of its state
 */
export function strikeEvent(r: Record<string, string | undefined>, region: string): Event {
  const at = Date.parse(`${r["Flight Date"]}T12:00:00Z`);
  const row: Event["row"] = {};
  for (const name of STRIKE_FEATURES) row[name] = r[name] === "" || r[name] === undefined ? null : r[name]!;
  const speed = row["Speed IAS in knots"];
  row["Speed IAS in knots"] = speed === null ? null : Number(speed);
  return { at, row, label: r["Effect Amount of damage"] === "None" ? "none" : "damage", labelAt: at + INSPECTION_DAYS * 86_400_000, region };
}

/** The flight model's features, in the model's column order. */
export const FLIGHT_FEATURES = ["origin", "destination", "distance", "hour"] as const;
/** Minutes late at arrival from which a flight counts as late (the BTS definition). */
export const LATE_MINUTES = 15;

/** One flight of vega-datasets' flights files (the Parquet file's types; the JSON files' numbers). */
export interface Flight {
  /** Scheduled departure, local time read as UTC. */
  date: Date;
  delay: bigint | number;
  distance: bigint | number;
  origin: string;
  destination: string;
}

/**
 * One flight as the delay model sees it: origin, destination, distance (miles) and hour of the
 * scheduled departure (fractional). Label: `late` when it arrived {@link LATE_MINUTES} or more
 * minutes late; known when it lands (departure + delay + air time at 500 mph + 30 minutes taxi).
 *
 * @param f - the flight
 * @param region - the census region of its origin airport
 */
export function flightEvent(f: Flight, region: string): Event {
  const at = f.date.getTime();
  const delay = Number(f.delay);
  const distance = Number(f.distance);
  return {
    at,
    row: { origin: f.origin, destination: f.destination, distance, hour: f.date.getUTCHours() + f.date.getUTCMinutes() / 60 },
    label: delay >= LATE_MINUTES ? "late" : "on time",
    labelAt: at + (Math.max(delay, 0) + (distance / 500) * 60 + 30) * 60_000,
    region,
  };
}
