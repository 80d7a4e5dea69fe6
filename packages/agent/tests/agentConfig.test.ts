import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AGENT_TOOLS,
  agentConfigFromEnv,
  condense,
  DEFAULT_BUDGETS,
  detectSetupCommand,
  detectVerifyCommand,
  FileConversationStore,
  priceOf,
  retryAfterMs,
  type ConversationMessage,
} from '../src/index.js';

const temporary: string[] = [];
afterAll(() => temporary.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
function projectWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'cap-agent-detect-'));
  temporary.push(dir);
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}

describe('agentConfigFromEnv', () => {
  it('without variables: not configured, naming what to set', () => {
    const config = agentConfigFromEnv({});
    expect(config.provider).toBeNull();
    expect(config.missing).toMatch(/AGENT_MODEL.*OPENAI_API_KEY.*ANTHROPIC_API_KEY/);
  });

  it('a provider without AGENT_MODEL is not configured', () => {
    expect(agentConfigFromEnv({ OPENAI_API_KEY: 'k' }).missing).toContain('AGENT_MODEL');
  });

  it('infers the provider from the keys, Anthropic first, and a local OpenAI-compatible server needs no key', () => {
    expect(
      agentConfigFromEnv({ ANTHROPIC_API_KEY: 'a', OPENAI_API_KEY: 'o', AGENT_MODEL: 'm' }).provider,
    ).toMatchObject({ kind: 'anthropic', baseUrl: 'https://api.anthropic.com' });
    expect(
      agentConfigFromEnv({
        ANTHROPIC_API_KEY: 'a',
        OPENAI_API_KEY: 'o',
        AGENT_MODEL: 'm',
        AGENT_PROVIDER: 'openai',
      }).provider,
    ).toMatchObject({ kind: 'openai' });
    const ollama = agentConfigFromEnv({
      OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1',
      AGENT_MODEL: 'qwen2.5-coder:7b',
    });
    expect(ollama.provider).toEqual({
      kind: 'openai',
      apiKey: undefined,
      baseUrl: 'http://127.0.0.1:11434/v1',
    });
    expect(
      agentConfigFromEnv({ AGENT_PROVIDER: 'anthropic', OPENAI_API_KEY: 'o', AGENT_MODEL: 'm' }).missing,
    ).toContain('ANTHROPIC_API_KEY');
  });

  it('role models default to AGENT_MODEL', () => {
    const config = agentConfigFromEnv({
      OPENAI_API_KEY: 'k',
      AGENT_MODEL: 'base',
      AGENT_REVIEWER_MODEL: 'rev',
    });
    expect(config.models).toEqual({ default: 'base', planner: 'base', coder: 'base', reviewer: 'rev' });
  });

  it('merges AGENT_PRICES and AGENT_BUDGETS over the defaults', () => {
    const config = agentConfigFromEnv({
      AGENT_PRICES: '{"my-model": {"input": 1, "output": 2}}',
      AGENT_BUDGETS: '{"ITERATIVE": {"usd": 0.5}}',
    });
    expect(config.prices['my-model']).toEqual({ input: 1, output: 2 });
    expect(config.prices['gpt-4o']).toBeDefined();
    expect(config.budgets.ITERATIVE).toEqual({ ...DEFAULT_BUDGETS.ITERATIVE, usd: 0.5 });
    expect(config.budgets.SINGLE_SHOT).toEqual(DEFAULT_BUDGETS.SINGLE_SHOT);
  });

  it.each([
    { AGENT_PRICES: 'not json' },
    { AGENT_PRICES: '{"m": {"input": -1, "output": 1}}' },
    { AGENT_BUDGETS: '{"FAST": {}}' },
    { AGENT_MAX_RETRIES: 'many' },
    { OPENAI_BASE_URL: 'not a url' },
    { AGENT_SETUP_NETWORK: 'maybe' },
  ])('refuses malformed %j', (env) => {
    expect(() => agentConfigFromEnv(env)).toThrow();
  });

  it('prices dated model variants by their base name', () => {
    const prices = agentConfigFromEnv({}).prices;
    expect(priceOf(prices, 'gpt-4o-2024-08-06')).toEqual(prices['gpt-4o']);
    expect(priceOf(prices, 'gpt-4o-mini-2024-07-18')).toEqual(prices['gpt-4o-mini']);
    expect(priceOf(prices, 'unknown-model')).toBeNull();
  });
});

describe('retryAfterMs', () => {
  it('reads seconds, HTTP dates and retry-after-ms', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs(new Headers({ 'retry-after': '3' }), now)).toBe(3_000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:10 GMT' }), now)).toBe(10_000);
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '250', 'retry-after': '3' }), now)).toBe(250);
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }), now)).toBeNull();
    expect(retryAfterMs(undefined, now)).toBeNull();
  });
});

describe('project detection', () => {
  it.each([
    [{ 'package.json': '{"dependencies": {"x": "1"}}', 'package-lock.json': '{}' }, 'npm ci'],
    [{ 'package.json': '{"devDependencies": {"x": "1"}}' }, 'npm install'],
    [
      { 'package.json': '{"dependencies": {"x": "1"}}', 'pnpm-lock.yaml': '' },
      'pnpm install --frozen-lockfile',
    ],
    [{ 'package.json': '{"dependencies": {"x": "1"}}', 'yarn.lock': '' }, 'yarn install --frozen-lockfile'],
    [{ 'package.json': '{"name": "no-deps"}' }, null],
    [{ 'pyproject.toml': '', 'uv.lock': '' }, 'uv sync'],
    [{ 'requirements.txt': 'pytest' }, 'python3 -m pip install -r requirements.txt'],
    [{ 'go.mod': 'module x' }, 'go mod download'],
    [{ 'pom.xml': '<project/>' }, 'mvn -B -q dependency:go-offline'],
    [{ 'Cargo.toml': '' }, 'cargo fetch'],
    [{}, null],
  ])('setup of %j is %j', (files, expected) => {
    expect(detectSetupCommand(projectWith(files))).toBe(expected);
  });

  it.each([
    [{ 'package.json': '{"scripts": {"test": "node --test"}}' }, 'npm test'],
    [{ 'package.json': '{"scripts": {"test": "echo \\"Error: no test specified\\" && exit 1"}}' }, null],
    [{ 'package.json': '{"scripts": {"test": "vitest"}}', 'pnpm-lock.yaml': '' }, 'pnpm test'],
    [{ 'pyproject.toml': '' }, 'python3 -m pytest -q'],
    [{ 'go.mod': 'module x' }, 'go test ./...'],
    [{ 'Cargo.toml': '' }, 'cargo test'],
    [{ 'pom.xml': '<project/>' }, 'mvn -B -q test'],
  ])('verification of %j is %j', (files, expected) => {
    expect(detectVerifyCommand(projectWith(files))).toBe(expected);
  });
});

describe('condense', () => {
  it('replaces old tool results once the conversation nears the context window, keeping the latest whole', () => {
    const messages: ConversationMessage[] = [{ role: 'user', content: 'task' }];
    for (let i = 0; i < 20; i++) {
      messages.push({
        role: 'assistant',
        content: '',
        toolCalls: [{ id: `c${i}`, name: 'read_file', arguments: '{}' }],
      });
      messages.push({
        role: 'tool',
        toolCallId: `c${i}`,
        name: 'read_file',
        content: 'x'.repeat(4_000),
        isError: false,
      });
    }
    expect(condense(messages, 'system', 1_000_000)).toBe(0);
    const condensed = condense(messages, 'system', 20_000);
    expect(condensed).toBeGreaterThan(10);
    expect(messages.at(-1)!.content).toHaveLength(4_000);
    expect(messages[2]!.content).toMatch(/^\[condensed: an earlier read_file result of 4000 characters/);
    expect(messages[0]).toEqual({ role: 'user', content: 'task' });
  });
});

describe('FileConversationStore', () => {
  it('round-trips a JSON state per task and refuses ids that are not file names', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cap-agent-store-'));
    temporary.push(dir);
    const store = new FileConversationStore(join(dir, 'conversations'));
    expect(await store.load('task-1')).toBeNull();
    await store.save('task-1', { messages: [{ role: 'user', content: 'hi' }] });
    expect(await store.load('task-1')).toEqual({ messages: [{ role: 'user', content: 'hi' }] });
    await store.delete('task-1');
    expect(await store.load('task-1')).toBeNull();
    await expect(store.save('../escape', {})).rejects.toThrow('cannot name a file');
  });
});

describe('README', () => {
  it('documents every tool with the JSON Schema the models receive', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    for (const tool of AGENT_TOOLS) {
      const section = readme.split(`### \`${tool.name}\``)[1];
      expect(section, tool.name).toBeDefined();
      const json = /```json\n([\s\S]*?)\n```/.exec(section!)?.[1];
      expect(JSON.parse(json!), tool.name).toEqual(tool.parameters);
    }
  });
});
