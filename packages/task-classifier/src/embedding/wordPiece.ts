/**
 * A BERT WordPiece tokenizer driven by a HuggingFace `tokenizer.json` (the uncased BERT vocabulary the
 * sentence-embedding models of ADR 0037 ship): normalise (drop control characters, whitespace to spaces,
 * space around CJK ideographs, strip accents, lower-case), split on whitespace and punctuation, then cut every
 * word into the longest vocabulary pieces from its start, continuations spelt with `##`. Written from the
 * algorithm's description, not ported; `tests/wordPiece.test.ts` checks it against the vocabulary ids.
 */

/** Token ids of one text, `[CLS] pieces… [SEP]`, at most `maxTokens` long. */
export interface Encoding {
  ids: number[];
  /** How many word pieces were dropped because the text was longer than `maxTokens`. */
  truncated: boolean;
}

/** What the tokenizer reads from `tokenizer.json`; anything else in the file is ignored. */
interface TokenizerJson {
  normalizer?: { type?: string; lowercase?: boolean; strip_accents?: boolean | null } | null;
  model?: {
    type?: string;
    vocab?: Record<string, number>;
    unk_token?: string;
    continuing_subword_prefix?: string;
    max_input_chars_per_word?: number;
  };
}

/** A `tokenizer.json` this tokenizer cannot honour (another model type, missing special tokens). */
export class TokenizerFormatError extends Error {
  override name = 'TokenizerFormatError';
}

/** Tab, newline and carriage return are whitespace; every other character of a C* category is dropped. */
const isControl = (code: number, char: string) =>
  code < 0x80
    ? (code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) || code === 0x7f
    : /\p{C}/u.test(char);
const isWhitespace = (code: number, char: string) =>
  code < 0x80 ? code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d : /\s/u.test(char);
/** ASCII symbols count as punctuation (BERT splits `$`, `+`, `^`, `` ` `` too), then every Unicode P*. */
const isPunctuation = (code: number, char: string) =>
  code < 0x80
    ? (code >= 33 && code <= 47) ||
      (code >= 58 && code <= 64) ||
      (code >= 91 && code <= 96) ||
      (code >= 123 && code <= 126)
    : /\p{P}/u.test(char);
/** The CJK ideograph blocks BERT surrounds with spaces (Hangul and kana are not among them). */
const isCjk = (code: number) =>
  (code >= 0x4e00 && code <= 0x9fff) ||
  (code >= 0x3400 && code <= 0x4dbf) ||
  (code >= 0x20000 && code <= 0x2a6df) ||
  (code >= 0x2a700 && code <= 0x2b73f) ||
  (code >= 0x2b740 && code <= 0x2b81f) ||
  (code >= 0x2b820 && code <= 0x2ceaf) ||
  (code >= 0xf900 && code <= 0xfaff) ||
  (code >= 0x2f800 && code <= 0x2fa1f);

export class WordPieceTokenizer {
  readonly clsId: number;
  readonly sepId: number;
  readonly padId: number;
  readonly unkId: number;
  private readonly vocab: Map<string, number>;
  private readonly prefix: string;
  private readonly maxWordChars: number;
  private readonly lowercase: boolean;
  private readonly stripAccents: boolean;

  /** Builds the tokenizer from the text of a `tokenizer.json`; throws {@link TokenizerFormatError} if unusable. */
  static fromJson(text: string): WordPieceTokenizer {
    let parsed: TokenizerJson;
    try {
      parsed = JSON.parse(text) as TokenizerJson;
    } catch (error) {
      throw new TokenizerFormatError(`tokenizer.json is not JSON: ${(error as Error).message}`);
    }
    return new WordPieceTokenizer(parsed);
  }

  private constructor(json: TokenizerJson) {
    const model = json.model;
    if (model?.type !== 'WordPiece' || typeof model.vocab !== 'object' || model.vocab === null)
      throw new TokenizerFormatError(`expected a WordPiece model, got ${String(model?.type)}`);
    this.vocab = new Map(Object.entries(model.vocab));
    this.prefix = model.continuing_subword_prefix ?? '##';
    this.maxWordChars = model.max_input_chars_per_word ?? 100;
    this.lowercase = json.normalizer?.lowercase ?? true;
    // BERT's normaliser strips accents whenever it lower-cases, unless told otherwise.
    this.stripAccents = json.normalizer?.strip_accents ?? this.lowercase;
    const special = (token: string) => {
      const id = this.vocab.get(token);
      if (id === undefined) throw new TokenizerFormatError(`the vocabulary has no ${token}`);
      return id;
    };
    this.clsId = special('[CLS]');
    this.sepId = special('[SEP]');
    this.padId = special('[PAD]');
    this.unkId = special(model.unk_token ?? '[UNK]');
  }

  /** Vocabulary id of a piece (continuations with their `##`), or undefined. */
  idOf(piece: string): number | undefined {
    return this.vocab.get(piece);
  }

  /**
   * Normalises and splits text into words (before WordPiece). Stops after `maxWords` words, so a huge input
   * costs no more than the tokens that will be kept.
   */
  words(text: string, maxWords = Number.POSITIVE_INFINITY): string[] {
    const out: string[] = [];
    let current = '';
    const flush = () => {
      if (current !== '') out.push(current);
      current = '';
    };
    for (const raw of text) {
      if (out.length >= maxWords) break;
      const code = raw.codePointAt(0) ?? 0;
      if (code === 0 || code === 0xfffd || isControl(code, raw)) continue;
      if (isWhitespace(code, raw)) {
        flush();
        continue;
      }
      if (isCjk(code)) {
        flush();
        out.push(raw);
        continue;
      }
      let chars = raw;
      if (code >= 0x80 && this.stripAccents) chars = chars.normalize('NFD').replace(/\p{Mn}/gu, '');
      if (this.lowercase) chars = chars.toLowerCase();
      // Stripping or lower-casing may yield several characters (or none); each is split on its own.
      for (const char of chars) {
        if (isPunctuation(char.codePointAt(0) ?? 0, char)) {
          flush();
          out.push(char);
        } else current += char;
      }
    }
    flush();
    return out.slice(0, maxWords);
  }

  /** Greedy longest-match WordPiece of one word; a word with an unmatched rest is one `[UNK]`. */
  pieces(word: string): number[] {
    const chars = [...word];
    if (chars.length > this.maxWordChars) return [this.unkId];
    const ids: number[] = [];
    let start = 0;
    while (start < chars.length) {
      let end = chars.length;
      let found: number | undefined;
      while (end > start) {
        const piece = (start > 0 ? this.prefix : '') + chars.slice(start, end).join('');
        found = this.vocab.get(piece);
        if (found !== undefined) break;
        end -= 1;
      }
      if (found === undefined) return [this.unkId];
      ids.push(found);
      start = end;
    }
    return ids;
  }

  /** `[CLS] pieces… [SEP]`, cut to `maxTokens` (the specials included). */
  encode(text: string, maxTokens = 128): Encoding {
    if (maxTokens < 2) throw new RangeError('maxTokens must leave room for [CLS] and [SEP]');
    const room = maxTokens - 2;
    const ids = [this.clsId];
    let truncated = false;
    // Every word yields at least one piece, so `room` words are always enough.
    for (const word of this.words(text, room + 1)) {
      const pieces = this.pieces(word);
      if (ids.length - 1 + pieces.length > room) {
        ids.push(...pieces.slice(0, room - (ids.length - 1)));
        truncated = true;
        break;
      }
      ids.push(...pieces);
    }
    ids.push(this.sepId);
    return { ids, truncated };
  }
}
