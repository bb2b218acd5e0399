/**
 * Epoch milliseconds as an ISO 8601 UTC string, the API's time format (null stays null).
 *
 * @param ms - epoch ms
 */
export function iso(ms: number): string;
export function iso(ms: number | null): string | null;
export function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
