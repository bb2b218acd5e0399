/**
 * Text descriptors: tokenizers live in the app (its `encode(text)` hook feeds the model), so what
 * Driftline sketches of a text input is how the text looks, plus the unknown-token share when the
 * hook reports it.
 */

/** A tensor as an app's encoder gives it. */
export interface TensorLike {
  type: string;
  data: unknown;
  dims: readonly number[];
}

/** What an app's text encoder answers for a batch of texts. */
export interface EncodedTextBatch<Feed = TensorLike> {
  /** The model's feeds for the batch (token ids, attention mask …), by input name. */
  feeds: Record<string, Feed>;
  /** Per text, the share of its tokens the tokenizer did not know (0–1), when it can tell. */
  unknownTokens?: ArrayLike<number>;
}

/** The app's tokenizer: the texts of one call (one per row) → the model's feeds. */
export type TextEncodingHook<Feed = TensorLike> = (texts: string[], input: string) => EncodedTextBatch<Feed> | Promise<EncodedTextBatch<Feed>>;

/** What a text looks like, in numbers drift can be measured on. */
export interface TextDescriptors {
  /** Unicode code points. */
  characters: number;
  /** Runs of non-whitespace. */
  words: number;
  /** Share of code points outside ASCII. */
  nonAscii: number;
  /** Share of code points that are decimal digits (any script). */
  digits: number;
}

const DIGIT = /\p{Nd}/u;

/**
 * Descriptors of one text.
 *
 * @param text - the text as the app passed it
 */
export function textDescriptors(text: string): TextDescriptors {
  let characters = 0;
  let nonAscii = 0;
  let digits = 0;
  for (const ch of text) {
    characters++;
    if (ch.codePointAt(0)! > 127) nonAscii++;
    if (DIGIT.test(ch)) digits++;
  }
  const words = text.match(/\S+/gu)?.length ?? 0;
  return { characters, words, nonAscii: characters > 0 ? nonAscii / characters : 0, digits: characters > 0 ? digits / characters : 0 };
}
