import { DriftlineError } from "../protocol/errors.ts";

/** A response being downloaded, and how to read its body within the download's limits. */
export interface Download {
  res: Response;
  /**
   * Reads `body` (by default `res`'s; or a clone's) whole, each chunk restarting the stall wait;
   * no body reads as no bytes. Rejects with DriftlineError `integrity` past the byte limit,
   * aborting the download.
   */
  read(body?: ReadableStream<Uint8Array> | null): Promise<Uint8Array<ArrayBuffer>>;
}

/**
 * Starts a download with two limits: it is aborted once nothing has arrived for `stallMs` (a
 * server that stalls fails it rather than holding it up for good) or once more than `maxBytes`
 * have arrived (a server that sends without end cannot fill the device's memory). A download that
 * keeps arriving within its size completes, however long it takes in all. The limits hold even
 * when `request` drops the signal (a transport of the app's). An error status fails the download
 * (hung up, unread) unless `errorAnswers`: then the caller reads the error answer too, within the
 * same limits. Errors name `name`.
 *
 * @param name - what is downloaded, for errors
 * @param stallMs - how long nothing may arrive
 * @param maxBytes - how many bytes may arrive
 * @param request - sends the request with the download's abort signal
 * @param errorAnswers - whether an error status is an answer to read (the collector's error envelopes)
 */
export async function download(name: string, stallMs: number, maxBytes: number, request: (signal: AbortSignal) => Promise<Response>, errorAnswers = false): Promise<Download> {
  const ctl = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stop = () => clearTimeout(timer);
  const wait = () => {
    stop();
    timer = setTimeout(() => ctl.abort(new Error(`${name}: nothing arrived for ${stallMs} ms`)), stallMs);
  };
  // settles on abort whatever the request or a body does with the signal
  const aborted = new Promise<never>((_, no) => (ctl.signal.onabort = () => no(ctl.signal.reason)));
  aborted.catch(() => {});
  wait();
  const res = await Promise.race([request(ctl.signal), aborted])
    .then(
      (res) => (res.ok || errorAnswers ? res : Promise.reject(new Error(`${name}: HTTP ${res.status}`))),
      // Node's fetch names why only in its cause: "fetch failed (ECONNREFUSED)"
      (err: Error & { cause?: { code?: string } }) =>
        Promise.reject(err?.message?.startsWith(name) ? err : new Error(`${name}: ${err?.message ?? err}${err?.cause?.code ? ` (${err.cause.code})` : ""}`, { cause: err })),
    )
    .catch((err: Error) => {
      // hang up
      stop();
      ctl.abort(err);
      throw err;
    });
  const read = async (body = res.body) => {
    const chunks: Uint8Array[] = [];
    let length = 0;
    const reader = body?.getReader();
    try {
      for (; reader; wait()) {
        const { done, value } = await Promise.race([reader.read(), aborted]);
        if (done) break;
        if ((length += value.length) > maxBytes) throw new DriftlineError("integrity", `${name}: more than ${maxBytes} bytes`);
        chunks.push(value);
      }
    } catch (err) {
      // hang up (a body that ignores the signal is cancelled)
      ctl.abort(err);
      void reader?.cancel(err).catch(() => {});
      throw err;
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
