import { codedError, ErrorCode } from '@cap/runtime';
import type { TaskText } from './examples.js';

/** Longest title accepted, in UTF-16 code units; longer input is a BAD_USER_INPUT. */
export const MAX_TITLE_CHARS = 2_000;
/** Longest description accepted (100 000 characters, about 100 KB of English); longer is a BAD_USER_INPUT. */
export const MAX_DESCRIPTION_CHARS = 100_000;
/**
 * Only this much of a description is read for features and rules: training bodies are at most 2 000
 * characters, so what follows adds no signal the model knows, only time.
 */
export const FEATURE_DESCRIPTION_CHARS = 20_000;

function check(value: unknown, field: 'title' | 'description', max: number, required: boolean): string {
  if (value === undefined || value === null) {
    if (!required) return '';
    throw codedError(ErrorCode.BAD_USER_INPUT, `${field} is required`, {
      field,
      expected: 'string',
      received: String(value),
    });
  }
  if (typeof value !== 'string') {
    throw codedError(ErrorCode.BAD_USER_INPUT, `${field} must be a string`, {
      field,
      expected: 'string',
      received: typeof value,
    });
  }
  if (value.length > max) {
    throw codedError(ErrorCode.BAD_USER_INPUT, `${field} is longer than ${max} characters`, {
      field,
      expected: `at most ${max} characters`,
      received: `${value.length} characters`,
    });
  }
  return value;
}

/**
 * Validates untrusted input to `classify`: an object with a string `title` (may be empty) and an optional
 * string `description`, within {@link MAX_TITLE_CHARS} / {@link MAX_DESCRIPTION_CHARS}. Throws a GraphQL
 * error coded BAD_USER_INPUT with `field`, `expected` and `received`; returns the text trimmed to what
 * features read.
 */
export function validateTaskText(input: unknown): TaskText {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw codedError(ErrorCode.BAD_USER_INPUT, 'input must be an object with a title and a description', {
      field: 'input',
      expected: '{ title: string, description?: string }',
      received: Array.isArray(input) ? 'array' : input === null ? 'null' : typeof input,
    });
  }
  const record = input as Record<string, unknown>;
  const title = check(record['title'], 'title', MAX_TITLE_CHARS, true);
  const description = check(record['description'], 'description', MAX_DESCRIPTION_CHARS, false);
  return prepareText({ title, description });
}

/** Cuts a description to what features read; training and classification both go through here. */
export function prepareText(text: TaskText): TaskText {
  return {
    title: text.title.slice(0, MAX_TITLE_CHARS),
    description:
      text.description.length > FEATURE_DESCRIPTION_CHARS
        ? text.description.slice(0, FEATURE_DESCRIPTION_CHARS)
        : text.description,
  };
}
