import { cargoParser } from './cargo.js';
import { eslintParser } from './eslint.js';
import { goParser } from './go.js';
import { gradleParser } from './gradle.js';
import { jestParser } from './jest.js';
import { mavenParser } from './maven.js';
import { nodeTestParser } from './nodeTest.js';
import type { ParserSpec } from './parser.js';
import { pytestParser } from './pytest.js';
import { tscParser } from './tsc.js';
import { vitestParser } from './vitest.js';

/** Every tool parser the detector can pick, in the order they are tried. */
export const PARSERS: readonly ParserSpec[] = [
  tscParser,
  eslintParser,
  vitestParser,
  jestParser,
  nodeTestParser,
  pytestParser,
  goParser,
  cargoParser,
  mavenParser,
  gradleParser,
];

export type { ParserSpec } from './parser.js';
