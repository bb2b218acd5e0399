import { DriftlineError } from "../protocol/errors.ts";

/** A response being downloaded, and how to read its body within the download's limits. */
export interface Download {
  res: Response;
  /**
   * Reads a body of `res` (or of a clone of it) whole, each chunk restarting the stall wait.
   * Rejects with DriftlineError `integrity` past the byte limit, aborting the download.
   */
  read(body: ReadableStream<Uint8Array>): Promise<Uint8Array<ArrayBuffer>>;
}

/**
 * Starts a download with two limits: it is aborted once nothing has arrived for `stallMs` (a
 * server that stalls fails it rather than holding it up for good) or once more than `maxBytes`
 * have arrived (a server that sends without end cannot fill the device's memory). A download that
 * keeps arriving within its size completes, however long it takes in all. Rejects when the
 * request fails or answers with an error status.
 *
 * @param name - what is downloaded, for errors
 * @param stallMs - how long nothing may arrive
 * @param maxBytes - how many bytes may arrive
 * @param request - sends the request with the download's abort signal
 */
export async function download(name: string, stallMs: number, maxBytes: number, request: (signal: AbortSignal) => Promise<Response>): Promise<Download> {
  const ctl = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stop = () => clearTimeout(timer);
  const wait = () => {
    stop();
    timer = setTimeout(() => ctl.abort(new Error(`${name}: nothing arrived for ${stallMs} ms`)), stallMs);
  };
  wait();
  let res: Response;
  try {
    res = await request(ctl.signal);
    if (!res.ok) throw new Error(`${name}: HTTP ${res.status}`);
  } catch (err) {
    stop();
    throw err;
  }
  const read = async (body: ReadableStream<Uint8Array>) => {
    const chunks: Uint8Array[] = [];
    let length = 0;
    try {
      for (const reader = body.getReader(); ; wait()) {
        const { done, value } = await reader.read();
        if (done) break;
        if ((length += value.length) > maxBytes) {
          const tooLong = new DriftlineError("integrity", `${name}: more than ${maxBytes} bytes`);
          ctl.abort(tooLong);
          throw tooLong;
        }
        chunks.push(value);
      }
    } finally {
      stop();
    }
    // one copy, in this process (a Blob of 14 MB would be copied out to the browser's blob store)
    const bytes = new Uint8Array(length);
    chunks.reduce((at, chunk) => (bytes.set(chunk, at), at + chunk.length), 0);
    return bytes;
  };
  return { res, read };
}
