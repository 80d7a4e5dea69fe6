/**
 * Text handling shared by the heuristic and the model's features. Everything here is pure and bounded by
 * the caller's length cap.
 */

/** A file path with a directory or a source-file extension (`src/app.ts`, `README.md`). */
export const FILE_PATH =
  /(?:^|[\s`'"(])((?:[\w.-]+\/)+[\w.-]+|[\w-]+\.(?:ts|tsx|js|jsx|mjs|cjs|vue|json|md|ya?ml|css|scss|html|py|go|rs|java|sh|toml|lock))(?=$|[\s`'"),:;])/g;
/** One frame of a JavaScript, Python or JVM stack trace. */
export const STACK_FRAME =
  /^[ \t]*(?:at[ \t]+[^\n]{1,300}?:\d+:\d+\)?[ \t]*$|File[ \t]+"[^"\n]{1,300}",[ \t]+line[ \t]+\d+|at[ \t]+[\w$.]{1,300}\([\w.]{1,100}:\d+\))/m;
const ERROR_LINE = /^[ \t]*(?:Uncaught[ \t]+)?[A-Z]?\w{0,60}(?:Error|Exception|Traceback)\b/m;
const URL = /https?:\/\/\S+/g;

/** Lower-cased word tokens: letters (any script) and digits; camelCase and snake_case split into parts. */
export function words(text: string): string[] {
  const tokens: string[] = [];
  const spaced = text
    .replace(URL, ' urltoken ')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .replace(/[_]/g, ' ')
    .toLowerCase();
  for (const match of spaced.matchAll(/[\p{L}\p{N}][\p{L}\p{N}'-]*/gu)) {
    const token = match[0].replace(/['-]+$/, '');
    tokens.push(/^\d+$/.test(token) ? '0' : token);
  }
  return tokens;
}

/** Character n-grams of the lower-cased, space-padded text, for sizes `min`..`max`. */
export function charNgrams(text: string, min: number, max: number): string[] {
  const padded = ` ${text.toLowerCase().replace(/\s+/g, ' ').trim()} `;
  const grams: string[] = [];
  for (let size = min; size <= max; size += 1) {
    for (let start = 0; start + size <= padded.length; start += 1)
      grams.push(padded.slice(start, start + size));
  }
  return grams;
}

/** File paths a text mentions. */
export function filePaths(text: string): string[] {
  return [...text.matchAll(FILE_PATH)].map((match) => match[1] ?? '');
}

/** Names of the numeric text-statistics and code-signal features, in feature order. */
export const SIGNAL_NAMES = [
  'titleChars',
  'descriptionChars',
  'titleWords',
  'descriptionLines',
  'descriptionEmpty',
  'stackTrace',
  'errorLine',
  'filePaths',
  'testFilePaths',
  'docFilePaths',
  'codeBlock',
  'inlineCode',
  'bulletLines',
  'url',
  'issueReference',
  'versionNumber',
  'breakingChange',
  'question',
  'nonAsciiShare',
  'titleConjunctions',
  'inlineCodeSpans',
  'descriptionParagraphs',
] as const;

/**
 * Text statistics and code signals, each scaled to roughly 0..1 (logs of counts divided by a typical
 * maximum) so they sit on the same scale as the unit-length TF-IDF block.
 */
export function signals(title: string, description: string): number[] {
  const all = `${title}\n${description}`;
  const paths = filePaths(all);
  const log = (value: number, scale: number) => Math.min(1, Math.log1p(value) / scale);
  let nonAsciiUnits = 0;
  for (let index = 0; index < all.length; index += 1) if (all.charCodeAt(index) > 0x7f) nonAsciiUnits += 1;
  const nonAscii = all.length === 0 ? 0 : nonAsciiUnits / all.length;
  return [
    log(title.length, 6),
    log(description.length, 9),
    log(words(title).length, 4),
    log(description.length === 0 ? 0 : description.split('\n').length, 6),
    description.trim().length === 0 ? 1 : 0,
    STACK_FRAME.test(all) ? 1 : 0,
    ERROR_LINE.test(all) ? 1 : 0,
    log(paths.length, 3),
    log(paths.filter((path) => /\.(spec|test|e2e)\.|__tests__|(^|\/)tests?\//.test(path)).length, 2),
    log(paths.filter((path) => /\.md$|(^|\/)docs?\//i.test(path)).length, 2),
    /```/.test(all) ? 1 : 0,
    /`[^`\n]+`/.test(all) ? 1 : 0,
    log(description.match(/^\s*(?:[-*+]|\d+\.)\s+/gm)?.length ?? 0, 3),
    /https?:\/\//.test(all) ? 1 : 0,
    /(?:^|\s)#\d+\b/.test(all) ? 1 : 0,
    /\bv?\d+\.\d+(?:\.\d+)?\b/.test(all) ? 1 : 0,
    /BREAKING[ -]CHANGE/.test(all) ? 1 : 0,
    /\?/.test(title) ? 1 : 0,
    nonAscii,
    // Several things in one task ("x and y", "a, b, c"): a hint that the change spans components.
    log(title.match(/\band\b|&|,|\+|;/gi)?.length ?? 0, 2),
    log(description.match(/`[^`\n]{1,200}`/g)?.length ?? 0, 3),
    log(description.trim().length === 0 ? 0 : description.trim().split(/\n\s*\n/).length, 3),
  ];
}
