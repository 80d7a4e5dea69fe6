// A UTF-16 surrogate without its partner: JSON.stringify escapes it, and PostgreSQL's jsonb refuses it.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * `text` as PostgreSQL can store it: NUL (refused by `text` and `jsonb`) and lone surrogates (refused by `jsonb`)
 * become U+FFFD. What a task's command, a model or a tool prints passes through here before it is stored or
 * published, so hostile output can neither fail a write nor lose the lines around it.
 */
export function storableText(text: string): string {
  return text.replaceAll('\u0000', '\uFFFD').replace(LONE_SURROGATE, '\uFFFD');
}
