import { z } from "zod";

/** The body of every non-2xx answer: `{ "error": { "code", "message" } }`. */
export const errorEnvelopeSchema = z.object({
  error: z.object({ code: z.string().min(1).max(64), message: z.string().max(4096) }),
});

/** An error envelope. */
export type ErrorEnvelope = z.infer<typeof errorEnvelopeSchema>;
