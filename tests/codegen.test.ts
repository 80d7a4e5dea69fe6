import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate, type CodegenConfig } from '@graphql-codegen/cli';
import { describe, expect, it } from 'vitest';
import config from '../codegen.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SCHEMA = 'schema/api.graphql';
const OUTPUT = 'web/src/generated/graphql.ts';

type OutputConfig = Extract<CodegenConfig['generates'][string], { plugins?: unknown }>;

/** The one output block of codegen.ts; the tests below fail if the config grows or renames it. */
function outputConfig(): OutputConfig {
  const block = config.generates[OUTPUT];
  if (block === undefined || Array.isArray(block) || typeof block !== 'object' || !('plugins' in block)) {
    throw new Error(`codegen.ts must configure exactly one output object for ${OUTPUT}`);
  }
  return block;
}

/**
 * Runs codegen in memory (nothing is written) with codegen.ts's plugins and options, on `schema` (a file
 * path or SDL), and returns the generated text.
 */
async function runCodegen(schema: string): Promise<string> {
  const run: CodegenConfig = {
    ...config,
    silent: true,
    schema,
    generates: { [join(ROOT, OUTPUT)]: outputConfig() },
  };
  const results = (await generate({ ...run, cwd: ROOT }, false)) as { filename: string; content: string }[];
  expect(results).toHaveLength(1);
  return results[0]!.content;
}

describe('codegen.ts', () => {
  it('reads the public API schema and writes only the dashboard types', () => {
    expect(config.schema).toBe(SCHEMA);
    expect(Object.keys(config.generates)).toEqual([OUTPUT]);
    expect(outputConfig().plugins).toEqual(['typescript']);
  });

  it('maps DateTime to string, JSON to unknown and enums to string unions', async () => {
    const output = await runCodegen(/* GraphQL */ `
      scalar DateTime
      scalar JSON
      enum Role {
        ADMIN
        VIEWER
      }
      type Query {
        at: DateTime!
        data: JSON
        role: Role
        name: String
      }
    `);
    expect(output).toContain('DateTime: { input: string; output: string; }');
    expect(output).toContain('JSON: { input: unknown; output: unknown; }');
    expect(output).toMatch(/export type Role =\s*\| 'ADMIN'\s*\| 'VIEWER';/);
    expect(output).not.toMatch(/\benum\b/);
    // avoidOptionals: false — nullable fields are optional, non-null ones required.
    expect(output).toContain("at: Scalars['DateTime']['output'];");
    expect(output).toContain("name?: Maybe<Scalars['String']['output']>;");
  });

  it('refuses a custom scalar that has no mapping instead of typing it as any', async () => {
    await expect(runCodegen('scalar Url\ntype Query { home: Url }')).rejects.toThrow(/Url/);
  });

  it('regenerates exactly the committed web/src/generated/graphql.ts from the committed schema/api.graphql', async () => {
    // Both files are committed: the schema by `npm run generate`, the types by `npm run codegen`.
    expect(existsSync(join(ROOT, SCHEMA)), `${SCHEMA} is missing: run \`npm run generate\``).toBe(true);
    expect(existsSync(join(ROOT, OUTPUT)), `${OUTPUT} is missing: run \`npm run codegen\``).toBe(true);
    const committed = await readFile(join(ROOT, OUTPUT), 'utf8');
    const first = await runCodegen(join(ROOT, SCHEMA));
    const second = await runCodegen(join(ROOT, SCHEMA));
    expect(second, 'codegen must be deterministic').toBe(first);
    expect(first, `${OUTPUT} has drifted from ${SCHEMA}: run \`npm run codegen\``).toBe(committed);
  });
});
