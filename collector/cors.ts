import { cors } from "hono/cors";

/**
 * CORS for the routes web pages call (assignment, artifacts, reports): any origin, bearer
 * keys in the Authorization header, no cookies. Ingest keys are public, so any origin may
 * use one; what a key can do is limited by its role and app, not by the origin.
 */
export const browserCors = cors({
  origin: "*",
  allowMethods: ["GET", "HEAD", "POST", "OPTIONS"],
  allowHeaders: ["Authorization", "Content-Type", "If-None-Match", "Range"],
  // Retry-After: clients honour it when backing off from a 429 or 503.
  exposeHeaders: ["ETag", "Content-Length", "Content-Range", "Accept-Ranges", "Retry-After"],
  maxAge: 86_400,
  credentials: false,
});
