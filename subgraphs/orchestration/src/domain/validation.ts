import { codedError, ErrorCode } from '@cap/runtime';

/** Limits of task input, in characters. */
export const LIMITS = {
  title: 200,
  description: 20_000,
  command: 10_000,
  answer: 10_000,
  reason: 1_000,
  /** Longest execution time limit a task may ask for, seconds (one day). */
  timeoutSeconds: 86_400,
  /** Agent verification and setup commands, characters. */
  agentCommand: 10_000,
} as const;

/** Caps of a task's agent budgets: a task may lower or raise the strategy's defaults, never past these. */
export const BUDGET_CAPS = {
  /** Input plus output tokens. */
  tokens: 50_000_000,
  /** US dollars. */
  usd: 1_000,
  /** Tool calls. */
  toolCalls: 5_000,
  /** Wall time of the agent's work, seconds (one day). */
  wallTimeSeconds: 86_400,
} as const;

/** A task's agent budgets as the API takes them. */
export interface BudgetsInput {
  tokens?: number | null | undefined;
  usd?: number | null | undefined;
  toolCalls?: number | null | undefined;
  wallTimeSeconds?: number | null | undefined;
}

/** Validated budgets as stored (`wallTimeMs`, the agent's unit); null when none was given. */
export function parseBudgets(
  input: BudgetsInput,
): { tokens?: number; usd?: number; toolCalls?: number; wallTimeMs?: number } | null {
  const budgets: { tokens?: number; usd?: number; toolCalls?: number; wallTimeMs?: number } = {};
  if (input.tokens !== null && input.tokens !== undefined)
    budgets.tokens = parseIntInRange(input.tokens, 'budgets.tokens', 1, BUDGET_CAPS.tokens);
  if (input.toolCalls !== null && input.toolCalls !== undefined)
    budgets.toolCalls = parseIntInRange(input.toolCalls, 'budgets.toolCalls', 1, BUDGET_CAPS.toolCalls);
  if (input.wallTimeSeconds !== null && input.wallTimeSeconds !== undefined) {
    budgets.wallTimeMs =
      parseIntInRange(input.wallTimeSeconds, 'budgets.wallTimeSeconds', 1, BUDGET_CAPS.wallTimeSeconds) *
      1_000;
  }
  if (input.usd !== null && input.usd !== undefined) {
    if (!Number.isFinite(input.usd) || input.usd <= 0 || input.usd > BUDGET_CAPS.usd) {
      bad(
        'budgets.usd',
        'budgets.usd is out of range.',
        `a number above 0 and at most ${BUDGET_CAPS.usd}`,
        String(input.usd),
      );
    }
    budgets.usd = input.usd;
  }
  return Object.keys(budgets).length > 0 ? budgets : null;
}

// C0 controls and DEL; multi-line texts may still hold tab, line feed and carriage return.
// eslint-disable-next-line no-control-regex
const ANY_CONTROL = /[\u0000-\u001f\u007f]/;
// eslint-disable-next-line no-control-regex
const CONTROL_EXCEPT_WHITESPACE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

function bad(field: string, message: string, expected: string, received: string): never {
  throw codedError(ErrorCode.BAD_USER_INPUT, message, { field, expected, received });
}

/** A bounded, non-blank, single-line text (titles, reasons). */
export function parseLine(value: string, field: string, maxLength: number): string {
  const text = value.trim();
  const expected = `1-${maxLength} printable characters on one line`;
  if (text.length === 0) bad(field, `${field} must not be blank.`, expected, 'a blank string');
  if (text.length > maxLength) bad(field, `${field} is too long.`, expected, `${text.length} characters`);
  if (ANY_CONTROL.test(text))
    bad(field, `${field} contains control characters.`, expected, 'control characters');
  return text;
}

/** A bounded multi-line text (descriptions, commands, answers): tab and line breaks allowed, other controls not. */
export function parseText(
  value: string,
  field: string,
  maxLength: number,
  options: { allowEmpty?: boolean } = {},
): string {
  const expected = `${options.allowEmpty ? 0 : 1}-${maxLength} characters without control characters other than tab and line breaks`;
  if (value.length > maxLength) bad(field, `${field} is too long.`, expected, `${value.length} characters`);
  if (CONTROL_EXCEPT_WHITESPACE.test(value))
    bad(field, `${field} contains control characters.`, expected, 'control characters');
  if (!options.allowEmpty && value.trim().length === 0)
    bad(field, `${field} must not be blank.`, expected, 'a blank string');
  return value;
}

/** A whole number in `[min, max]`. */
export function parseIntInRange(value: number, field: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    bad(field, `${field} is out of range.`, `an integer from ${min} to ${max}`, String(value));
  }
  return value;
}

/** A UUID, or BAD_USER_INPUT (Prisma would otherwise fail on a malformed id with an unexpected error). */
export function parseId(value: string, field = 'id'): string {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) {
    bad(
      field,
      `${field} is not a valid id.`,
      'a UUID',
      value.length > 40 ? `${value.length} characters` : JSON.stringify(value),
    );
  }
  return value.toLowerCase();
}
