import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chatEnvSchema, loadConfig as loadChatConfig } from '@cap/chat';
import { cicdEnvSchema, loadConfig as loadCicdConfig } from '@cap/cicd';
import { githubEnvSchema, loadGithubConfig } from '@cap/github';
import { identityEnvSchema, loadConfig as loadIdentityConfig } from '@cap/identity';
import { loadConfig as loadMlClassifierConfig, mlClassifierEnvSchema } from '@cap/ml-classifier';
import { loadConfig as loadOrchestrationConfig, orchestrationEnvSchema } from '@cap/orchestration';
import { loadConfig as loadPlatformConfig, platformEnvSchema } from '@cap/platform';
import { loadConfig as loadRouterConfig, routerEnvSchema } from '@cap/router';
import { seededRandom } from '@cap/testkit';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The class "an integer setting without a real bound" (a typo of a few digits becomes a busy loop: Node fires a
 * timer of more than 2^31 - 1 ms after 1 ms), over every deployable's whole configuration schema: each integer
 * field has an explicit minimum and maximum, durations fit a timer, and generated values on both sides of each
 * bound are loaded through the deployable's own `loadConfig`, so a field added later is covered without a line
 * here. The agent's variables are part of orchestration's schema.
 */

/** The longest delay `setTimeout`/`setInterval` honour, ms; beyond it they fire after 1 ms. */
const TIMER_MAX_MS = 2_147_483_647;
const YEAR_MS = 365 * 24 * 60 * 60 * 1_000;

/**
 * Durations never handed to a timer, allowed past its limit (up to a year): each is a cutoff or an expiry
 * compared with a clock. A duration listed here that is (or becomes) a timer's delay is a bug.
 */
const NOT_TIMERS: Record<string, string> = {
  PROCESSED_EVENTS_RETENTION_MS: 'a cutoff in the purger SQL (ProcessedEventsPurger); its timer runs hourly',
  REFRESH_TOKEN_TTL_SECONDS: 'an expiry date stored with the refresh token (identity domain/sessions.ts)',
};

/** Settings another field's rule depends on, set so that a field's own bounds are what is tested. */
const COMPANIONS: Record<string, Record<string, string>> = {
  // HEARTBEAT_INTERVAL_MS must be at most half of LEASE_MS (orchestration).
  HEARTBEAT_INTERVAL_MS: { LEASE_MS: '3600000' },
  LEASE_MS: { HEARTBEAT_INTERVAL_MS: '50' },
};

type Load = (env: Record<string, string | undefined>) => unknown;
interface Deployable {
  service: string;
  schema: { shape: Record<string, unknown> };
  load: Load;
}

const DEPLOYABLES: Deployable[] = [
  { service: 'router', schema: routerEnvSchema, load: loadRouterConfig },
  { service: 'platform', schema: platformEnvSchema, load: loadPlatformConfig },
  { service: 'identity', schema: identityEnvSchema, load: loadIdentityConfig },
  { service: 'chat', schema: chatEnvSchema, load: loadChatConfig },
  { service: 'orchestration', schema: orchestrationEnvSchema, load: loadOrchestrationConfig },
  { service: 'ml-classifier', schema: mlClassifierEnvSchema, load: loadMlClassifierConfig },
  { service: 'github', schema: githubEnvSchema, load: loadGithubConfig },
  { service: 'cicd', schema: cicdEnvSchema, load: loadCicdConfig },
];

/** What zod (4) exposes of a number schema: its bounds and whether it takes integers only. */
interface NumberSchema {
  minValue: number | null;
  maxValue: number | null;
  isInt: boolean;
}
interface SchemaDef {
  type: string;
  innerType?: unknown;
  options?: unknown[];
  in?: unknown;
  out?: unknown;
}

/** Every number schema inside `schema`, through defaults, optionals, unions and pipes. */
function numbersIn(schema: unknown): NumberSchema[] {
  const def = (schema as { _zod: { def: SchemaDef } })._zod.def;
  if (def.type === 'number') return [schema as NumberSchema];
  const inner = [def.innerType, ...(def.options ?? []), def.in, def.out].filter((part) => part !== undefined);
  return inner.flatMap(numbersIn);
}

interface IntField {
  service: string;
  name: string;
  min: number;
  max: number;
  load: Load;
}

function intFields(): IntField[] {
  const fields: IntField[] = [];
  for (const { service, schema, load } of DEPLOYABLES) {
    for (const [name, field] of Object.entries(schema.shape)) {
      for (const number of numbersIn(field)) {
        if (!number.isInt) continue;
        fields.push({
          service,
          name,
          min: number.minValue ?? -Infinity,
          max: number.maxValue ?? Infinity,
          load,
        });
      }
    }
  }
  return fields;
}

const FIELDS = intFields();
const dataDir = mkdtempSync(join(tmpdir(), 'config-bounds-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

function envWith(name: string, value: string): Record<string, string> {
  return { NODE_ENV: 'development', DATA_DIR: dataDir, ...COMPANIONS[name], [name]: value };
}

/** The coded configuration error `load` threw for `env`, or null when it loaded. */
function configErrorOf(load: Load, env: Record<string, string>): { code: string; issues: string[] } | null {
  try {
    load(env);
    return null;
  } catch (error) {
    const coded = error as { code?: unknown; issues?: unknown };
    if (coded.code !== 'CONFIG_INVALID' || !Array.isArray(coded.issues)) throw error;
    return { code: coded.code, issues: coded.issues as string[] };
  }
}

/** Values of a field's class that must be refused: around and far past each bound, and not integers at all. */
function refusedValues(field: IntField, random: () => number): string[] {
  const { min, max } = field;
  const values = [
    String(min - 1),
    String(max + 1),
    String(min + 0.5),
    String(max - 0.25),
    'abc',
    '12abc',
    '1e30',
    '-1e30',
    String(Math.min(-1, min - 1)),
    'Infinity',
    'NaN',
    String(TIMER_MAX_MS + 1),
    // Spellings Number() would accept: blank, hexadecimal, binary, octal, exponent, separators.
    '',
    '   ',
    `0x${Math.max(1, min).toString(16)}`,
    `0b${Math.max(1, min).toString(2)}`,
    `0o${Math.max(1, min).toString(8)}`,
    `${Math.max(1, min)}e0`,
    `${Math.max(1, min)}.0`,
    `1_000`,
    '+',
    '--1',
  ];
  for (let i = 0; i < 4; i++) {
    values.push(String(max + 1 + Math.floor(random() * 1e12)));
    values.push(String(min - 1 - Math.floor(random() * 1e12)));
  }
  // TIMER_MAX_MS + 1 is inside a few non-duration ranges (ids, byte counts): only what is out of range is refused.
  return values.filter((value) => {
    const number = Number(value);
    return !(/^[+-]?\d+$/.test(value) && number >= min && number <= max);
  });
}

/** Values that must load: both bounds and integers between them. */
function acceptedValues(field: IntField, random: () => number): string[] {
  const values = [String(field.min), String(field.max)];
  for (let i = 0; i < 4; i++)
    values.push(String(field.min + Math.floor(random() * (field.max - field.min + 1))));
  return values;
}

describe('every integer setting of every deployable is bounded', () => {
  it('finds the integer settings of each deployable', () => {
    for (const { service } of DEPLOYABLES) {
      expect(FIELDS.filter((field) => field.service === service).length, service).toBeGreaterThan(0);
    }
    // Spot checks that the walk reaches spread-in shapes, unions and the agent's variables.
    const names = new Set(FIELDS.map((field) => `${field.service}.${field.name}`));
    for (const name of [
      'router.ROUTER_WORKERS',
      'router.SUBSCRIPTION_KEEP_ALIVE_MS',
      'orchestration.AGENT_REQUEST_TIMEOUT_MS',
      'chat.DATABASE_POOL_SIZE',
      'github.GITHUB_WEBHOOK_RETRY_INTERVAL_MS',
    ]) {
      expect(names, name).toContain(name);
    }
  });

  it('gives every integer setting an explicit minimum and maximum', () => {
    const unbounded = FIELDS.filter(
      (field) =>
        !(
          field.min > Number.MIN_SAFE_INTEGER &&
          field.max < Number.MAX_SAFE_INTEGER &&
          field.min <= field.max
        ),
    ).map((field) => `${field.service}.${field.name} [${field.min}, ${field.max}]`);
    expect(unbounded).toEqual([]);
  });

  it('keeps every duration within what a timer can wait (or names why it is no timer)', () => {
    const tooLong = FIELDS.filter((field) => {
      const unit = field.name.endsWith('_MS') ? 1 : field.name.endsWith('_SECONDS') ? 1_000 : null;
      if (unit === null) return false;
      const limit = field.name in NOT_TIMERS ? YEAR_MS : TIMER_MAX_MS;
      return field.max > Math.floor(limit / unit);
    }).map((field) => `${field.service}.${field.name} max ${field.max}`);
    expect(tooLong).toEqual([]);
    // The exceptions name real settings.
    for (const name of Object.keys(NOT_TIMERS)) {
      expect(FIELDS.map((field) => field.name)).toContain(name);
    }
  });

  it('refuses values outside each range with the coded error naming the variable, and loads each bound', () => {
    const random = seededRandom(20_261_207);
    const failures: string[] = [];
    for (const field of FIELDS) {
      const label = `${field.service}.${field.name}`;
      for (const value of refusedValues(field, random)) {
        const error = configErrorOf(field.load, envWith(field.name, value));
        if (!error) failures.push(`${label}=${value} loaded`);
        else if (!error.issues.some((issue) => issue.startsWith(`${field.name}:`)))
          failures.push(`${label}=${value} refused without naming it: ${error.issues.join('; ')}`);
      }
      for (const value of acceptedValues(field, random)) {
        const error = configErrorOf(field.load, envWith(field.name, value));
        if (error) failures.push(`${label}=${value} refused: ${error.issues.join('; ')}`);
      }
    }
    expect(failures).toEqual([]);
  });
});

describe('a decimal setting is read as written', () => {
  const load = (value: string) =>
    configErrorOf(loadMlClassifierConfig, envWith('CLASSIFIER_HEURISTIC_THRESHOLD', value));

  it('loads plain decimals in range and refuses blank, hexadecimal, exponent and out-of-range spellings', () => {
    for (const value of ['0', '1', '0.85', '.5', ' 0.7 ', '1.01']) expect(load(value), value).toBeNull();
    for (const value of [
      '',
      '  ',
      '0x1',
      '1e0',
      '8e-1',
      '0b1',
      '1_0',
      '-0.1',
      '1.02',
      'NaN',
      'Infinity',
      'abc',
    ]) {
      const error = load(value);
      expect(
        error?.issues.some((issue) => issue.startsWith('CLASSIFIER_HEURISTIC_THRESHOLD:')),
        value,
      ).toBe(true);
    }
  });
});
