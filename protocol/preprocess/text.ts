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
  /** Runs of non-whitespace (as Python's `str.split()` splits). */
  words: number;
  /** Share of code points outside ASCII. */
  nonAscii: number;
  /** Share of code points that are decimal digits (any script). */
  digits: number;
}

const DIGIT = /\p{Nd}/u;
/**
 * A run of characters Python's `str.isspace()` is false for: `\s` differs from it (it lacks
 * U+001C–U+001F and U+0085, and has U+FEFF), and a profile's words are counted as `str.split()` does.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: Python's whitespace has the separators U+001C–U+001F
const WORD = /[^\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/gu;

/**
 * Why an encoder's unknown-token share is none, or undefined: a share of the text's tokens is
 * 0–1, or NaN when the encoder cannot tell (a count, a percentage or ±Infinity would be sketched
 * as a share and move its drift). The runtime and `driftline profile --text` refuse the same.
 *
 * @param share - what the encoder answered as `unknownTokens[r]` (`where`)
 * @param where - how the message names it
 */
export function unknownShareProblem(share: unknown, where: string): string | undefined {
  if (typeof share === "number" && (share >= 0 ? share <= 1 : Number.isNaN(share))) return undefined;
  return `${where} is ${share}: a share of the text's tokens, 0–1 (NaN, or no unknownTokens, when it cannot tell)`;
}

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
  const words = text.match(WORD)?.length ?? 0;
  return { characters, words, nonAscii: characters > 0 ? nonAscii / characters : 0, digits: characters > 0 ? digits / characters : 0 };
}
