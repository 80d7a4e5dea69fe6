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

/**
 * {@link storableText}, cut to `max` UTF-16 units with an ellipsis (never splitting a surrogate pair): what an
 * event or a row may carry of an executor's text.
 */
export function cappedText(text: string, max: number): string {
  const clean = storableText(text);
  if (clean.length <= max) return clean;
  let end = max - 1;
  const last = clean.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${clean.slice(0, end)}…`;
}
