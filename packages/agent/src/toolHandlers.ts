import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { z } from 'zod';
import type { CommandRunner } from './ports.js';
import { ReviewNoteRefusal, type ReviewNotebook } from './reviewNotes.js';
import { searchFiles, SearchError } from './safeSearch.js';
import { toolArgumentSchemas, type ToolArguments, type ToolName } from './toolSchemas.js';
import { PathRefusedError, resolveWorkspacePath } from './workspacePaths.js';

/** What the tools work with. */
export interface ToolEnvironment {
  /** The workspace's real path. */
  root: string;
  runner: CommandRunner;
  /** The environment of the agent's commands: no model keys, no repository tokens. */
  env: Record<string, string>;
  network: boolean;
  commandTimeoutMs: number;
  maxOutputBytes: number;
  signal: AbortSignal;
  /** Where `add_review_note` records notes on the agent's change; absent outside an execution. */
  reviewNotes?: ReviewNotebook | undefined;
}

/** A tool's answer to the model, plus a control signal for the loop. */
export interface ToolOutcome {
  content: string;
  isError: boolean;
  control?:
    | { kind: 'finish'; summary: string }
    | { kind: 'ask'; question: string }
    | { kind: 'submit'; value: unknown };
}

/** Longest tool answer the model gets, characters. */
const MAX_RESULT_CHARS = 30_000;
const READ_LINES = 400;

function cap(text: string, max = MAX_RESULT_CHARS): string {
  return text.length <= max
    ? text
    : `${text.slice(0, max)}\n… [truncated: ${text.length - max} more characters]`;
}

const error = (content: string): ToolOutcome => ({ content, isError: true });

/**
 * Parses a tool call's raw JSON arguments against the tool's schema. Malformed JSON and schema violations
 * come back as an error the model can read and correct.
 */
export function parseToolArguments(
  name: string,
  raw: string,
): { ok: true; name: ToolName; args: unknown } | { ok: false; message: string } {
  if (!(name in toolArgumentSchemas)) {
    return {
      ok: false,
      message: `Unknown tool ${JSON.stringify(name)}. Available tools: ${Object.keys(toolArgumentSchemas).join(', ')}.`,
    };
  }
  let value: unknown;
  try {
    value = raw.trim().length === 0 ? {} : JSON.parse(raw);
  } catch (cause) {
    return {
      ok: false,
      message: `The arguments of ${name} are not valid JSON (${(cause as Error).message}). Send the call again with one JSON object matching the tool's schema.`,
    };
  }
  const parsed = toolArgumentSchemas[name as ToolName].safeParse(value);
  if (!parsed.success) {
    return {
      ok: false,
      message: `Invalid arguments for ${name}:\n${z.prettifyError(parsed.error)}\nFix them and call again.`,
    };
  }
  return { ok: true, name: name as ToolName, args: parsed.data };
}

/** Runs one validated tool call. Path refusals and search errors become tool errors; anything else throws. */
export async function runTool(env: ToolEnvironment, name: ToolName, args: unknown): Promise<ToolOutcome> {
  try {
    switch (name) {
      case 'list_files':
        return await listFiles(env, args as ToolArguments<'list_files'>);
      case 'read_file':
        return await readFileTool(env, args as ToolArguments<'read_file'>);
      case 'search': {
        const { pattern, path, case_insensitive } = args as ToolArguments<'search'>;
        const dir = await resolveWorkspacePath(env.root, path);
        const result = await searchFiles(env.root, dir, pattern, { caseInsensitive: case_insensitive });
        if (result.matches.length === 0)
          return { content: `No matches in ${result.filesSearched} files.`, isError: false };
        const lines = result.matches.map((match) => `${match.path}:${match.line}: ${match.text}`);
        if (result.capped)
          lines.push(
            `… more matches not shown (capped at ${result.matches.length}); narrow the pattern or path.`,
          );
        return { content: cap(lines.join('\n')), isError: false };
      }
      case 'write_file': {
        const { path, content } = args as ToolArguments<'write_file'>;
        const target = await resolveWorkspacePath(env.root, path, { write: true });
        await mkdir(dirname(target), { recursive: true });
        await writeFile(target, content);
        return { content: `Wrote ${path} (${content.split('\n').length} lines).`, isError: false };
      }
      case 'edit_file':
        return await editFile(env, args as ToolArguments<'edit_file'>);
      case 'apply_patch':
        return await applyPatch(env, (args as ToolArguments<'apply_patch'>).patch);
      case 'run_command': {
        const { command, timeout_ms } = args as ToolArguments<'run_command'>;
        const result = await env.runner.run({
          shell: command,
          cwd: env.root,
          env: env.env,
          timeoutMs: Math.min(timeout_ms ?? env.commandTimeoutMs, env.commandTimeoutMs),
          maxOutputBytes: env.maxOutputBytes,
          network: env.network,
          signal: env.signal,
        });
        const status = result.timedOut
          ? `timed out after ${Math.round(result.durationMs)} ms`
          : result.exitCode === null
            ? 'was killed'
            : `exit code ${result.exitCode}`;
        return {
          content: cap(`$ ${command}\n[${status}]\n${result.output}`),
          isError: result.exitCode !== 0,
        };
      }
      case 'ask_user': {
        const { question } = args as ToolArguments<'ask_user'>;
        return {
          content: 'Waiting for the task creator to answer.',
          isError: false,
          control: { kind: 'ask', question },
        };
      }
      case 'finish': {
        const { summary } = args as ToolArguments<'finish'>;
        return { content: 'Finishing.', isError: false, control: { kind: 'finish', summary } };
      }
      case 'add_review_note': {
        if (!env.reviewNotes)
          return error(
            `${ReviewNoteRefusal.REVIEW_NOTES_UNAVAILABLE}: there is no change to attach review notes to here.`,
          );
        const result = await env.reviewNotes.add(args as ToolArguments<'add_review_note'>);
        return { content: result.message, isError: !result.ok };
      }
      case 'submit_plan':
      case 'submit_review':
        return { content: 'Received.', isError: false, control: { kind: 'submit', value: args } };
    }
  } catch (cause) {
    if (cause instanceof PathRefusedError || cause instanceof SearchError) return error(cause.message);
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return error('No such file or directory.');
    if (code === 'EISDIR') return error('That is a directory; use list_files.');
    if (code === 'ENOTDIR') return error('A component of the path is a file, not a directory.');
    throw cause;
  }
}

async function listFiles(
  env: ToolEnvironment,
  { path, max_depth }: ToolArguments<'list_files'>,
): Promise<ToolOutcome> {
  const start = await resolveWorkspacePath(env.root, path);
  const lines: string[] = [];
  const limit = 1_000;
  const walk = async (dir: string, depth: number): Promise<void> => {
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
      a.name.localeCompare(b.name),
    );
    for (const entry of entries) {
      if (lines.length >= limit) return;
      if (entry.name === '.git' || entry.name === 'node_modules') continue;
      const rel = relative(env.root, join(dir, entry.name));
      if (entry.isDirectory()) {
        lines.push(`${rel}/`);
        if (depth < max_depth) await walk(join(dir, entry.name), depth + 1);
      } else lines.push(entry.isSymbolicLink() ? `${rel} (symlink)` : rel);
    }
  };
  await walk(start, 1);
  if (lines.length >= limit) lines.push(`… listing capped at ${limit} entries; list a subdirectory.`);
  return { content: lines.length > 0 ? lines.join('\n') : '(empty directory)', isError: false };
}

async function readFileTool(
  env: ToolEnvironment,
  { path, start_line, end_line }: ToolArguments<'read_file'>,
): Promise<ToolOutcome> {
  const target = await resolveWorkspacePath(env.root, path);
  const info = await stat(target);
  if (info.isDirectory()) return error(`${path} is a directory; use list_files.`);
  if (info.size > 10 * 1024 * 1024)
    return error(`${path} is larger than 10 MiB; use search or run_command (head, sed -n).`);
  const buffer = await readFile(target);
  if (buffer.subarray(0, 8192).includes(0)) return error(`${path} is a binary file.`);
  const lines = buffer.toString('utf8').split('\n');
  const first = start_line ?? 1;
  const last = Math.min(lines.length, end_line ?? first + READ_LINES - 1);
  if (first > lines.length)
    return error(`${path} has ${lines.length} lines; start_line ${first} is past the end.`);
  if (last < first) return error('end_line is before start_line.');
  const body = lines
    .slice(first - 1, last)
    .map((line, index) => `${String(first + index).padStart(5)}  ${line}`)
    .join('\n');
  const more =
    last < lines.length ? `\n… lines ${last + 1}-${lines.length} not shown; read them with start_line.` : '';
  return {
    content: cap(`${path} (lines ${first}-${last} of ${lines.length})\n${body}${more}`),
    isError: false,
  };
}

async function editFile(
  env: ToolEnvironment,
  { path, old_string, new_string }: ToolArguments<'edit_file'>,
): Promise<ToolOutcome> {
  const target = await resolveWorkspacePath(env.root, path, { write: true });
  const text = await readFile(target, 'utf8');
  const first = text.indexOf(old_string);
  if (first === -1)
    return error(
      `old_string does not occur in ${path}; read the file and copy the exact text (whitespace included).`,
    );
  const second = text.indexOf(old_string, first + 1);
  if (second !== -1) {
    const count = text.split(old_string).length - 1;
    return error(
      `old_string occurs ${count} times in ${path}; include more surrounding lines so that it occurs exactly once.`,
    );
  }
  await writeFile(target, text.slice(0, first) + new_string + text.slice(first + old_string.length));
  return { content: `Edited ${path}.`, isError: false };
}

/** Paths a unified diff touches (`---`/`+++` headers and git's rename/copy lines). */
export function patchPaths(patch: string): string[] {
  const paths = new Set<string>();
  for (const line of patch.split('\n')) {
    const header = /^(?:---|\+\+\+) (.+?)(?:\t.*)?$/.exec(line);
    const moved = /^(?:rename|copy) (?:from|to) (.+)$/.exec(line);
    const raw = header?.[1] ?? moved?.[1];
    if (!raw || raw === '/dev/null') continue;
    paths.add(header ? raw.replace(/^[ab]\//, '') : raw);
  }
  return [...paths];
}

/** Applies a unified diff with `git apply` (through the runner); every path it names is checked first. */
async function applyPatch(env: ToolEnvironment, patch: string): Promise<ToolOutcome> {
  const paths = patchPaths(patch);
  if (paths.length === 0) return error('The patch names no files; send a unified diff with ---/+++ headers.');
  for (const path of paths) await resolveWorkspacePath(env.root, path, { write: true });
  const dir = join(env.root, '.git', 'cap-agent');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `patch-${process.pid}-${Date.now()}.diff`);
  await writeFile(file, patch.endsWith('\n') ? patch : `${patch}\n`);
  try {
    const result = await env.runner.run({
      argv: [
        'git',
        '-c',
        'core.hooksPath=/dev/null',
        'apply',
        '--verbose',
        '--recount',
        '--whitespace=nowarn',
        file,
      ],
      cwd: env.root,
      env: { ...env.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' },
      timeoutMs: 60_000,
      maxOutputBytes: env.maxOutputBytes,
      network: false,
      signal: env.signal,
    });
    if (result.exitCode !== 0) return error(cap(`git apply refused the patch:\n${result.output}`));
    return { content: cap(`Applied:\n${result.output}`), isError: false };
  } finally {
    await rm(file, { force: true });
  }
}
