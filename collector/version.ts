import pkg from "../package.json";

/** The Driftline release this collector was built from. */
export const DRIFTLINE_VERSION: string = pkg.version;
