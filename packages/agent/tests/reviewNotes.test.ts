import { realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ChildProcessRunner, createFixture, seededRandom, type Fixture } from '@cap/testkit';
import {
  GitWorkspace,
  MemoryConversationStore,
  pathProblem,
  ReviewNotebook,
  ReviewNoteRefusal,
  type LogEntryInput,
} from '../src/index.js';
import { FIX_TURNS } from './support/harness.js';
import { useScriptedAgent } from './support/scriptedAgent.js';

const TASK_ID = '3f2a9c1e-0000-4000-8000-0000000000a1';

const startAgent = useScriptedAgent(TASK_ID);
let fixture: Fixture | null = null;
afterEach(() => {
  fixture?.remove();
  fixture = null;
});

const note = (path: string, line: number, body: string) => ({
  name: 'add_review_note',
  arguments: { path, line, body },
});

/** The `add_review_note` results the model received, in order. */
function noteResults(entries: readonly LogEntryInput[]): Array<{ result: string; isError: boolean }> {
  return entries
    .filter((entry) => entry.kind === 'TOOL_CALL')
    .map((entry) => entry.data as { tool: string; result: string; isError: boolean })
    .filter((data) => data.tool === 'add_review_note')
    .map(({ result, isError }) => ({ result, isError }));
}

describe('add_review_note through the executor (scripted model)', { timeout: 120_000 }, () => {
  it('ITERATIVE: the valid note and the last verification reach the result; hostile notes get coded errors', async () => {
    const hostile = [
      note('src/sum.js', 2, 'Adds instead of subtracting: the test expects sum(2, 3) === 5.'),
      note('../outside.js', 1, 'climbs out'),
      note('/etc/passwd', 1, 'absolute'),
      note('src/../src/sum.js', 2, 'dot-dot inside'),
      note('./src/sum.js', 2, 'dot segment'),
      note('src\\sum.js', 2, 'backslash'),
      note('src/sum.js\u0000.txt', 2, 'NUL'),
      note('src/sum.js\n', 2, 'newline'),
      note('x'.repeat(501), 1, 'long path'),
      note('test/sum.test.js', 5, 'a file the change does not touch'),
      note('src/sum.js', 0, 'line zero'),
      note('src/sum.js', -3, 'negative line'),
      note('src/sum.js', 4, 'past the end (3 lines)'),
      note('src/sum.js', 2, '   '),
      note('src/sum.js', 2, 'b'.repeat(5_001)),
      note('src/sum.js', 2, 'bell \u0007 and escape \u001b[31m'),
      note('src/sum.js', 2, 'Adds instead of subtracting: the test expects sum(2, 3) === 5.'),
    ];
    const { server, executor, context } = await startAgent({
      script: [
        FIX_TURNS[1]!,
        { toolCalls: hostile },
        // A type error is a schema violation the model can correct, not a refusal.
        { toolCalls: [{ name: 'add_review_note', arguments: { path: 'src/sum.js', line: '2', body: 'x' } }] },
        FIX_TURNS[3]!,
      ],
    });
    const run = context({ strategy: 'ITERATIVE' });

    const outcome = await executor.execute(run.ctx);

    expect(outcome.kind).toBe('succeeded');
    if (outcome.kind !== 'succeeded') return;
    server.assertDone();
    expect(outcome.result.verification).toEqual({ passed: true, command: 'npm test' });
    expect(outcome.result.reviewNotes).toEqual([
      { path: 'src/sum.js', line: 2, body: 'Adds instead of subtracting: the test expects sum(2, 3) === 5.' },
    ]);
    const results = noteResults(run.log.entries);
    expect(results).toHaveLength(hostile.length + 1);
    expect(results[0]).toEqual({
      result: expect.stringContaining('becomes a line comment'),
      isError: false,
    });
    const codes = results.slice(1, hostile.length - 1).map((r) => /^([A-Z_]+):/.exec(r.result)?.[1]);
    expect(codes).toEqual([
      ...Array(8).fill(ReviewNoteRefusal.REVIEW_NOTE_PATH_INVALID),
      ReviewNoteRefusal.REVIEW_NOTE_NOT_IN_CHANGE,
      ...Array(3).fill(ReviewNoteRefusal.REVIEW_NOTE_LINE_INVALID),
      ...Array(3).fill(ReviewNoteRefusal.REVIEW_NOTE_BODY_INVALID),
    ]);
    expect(results.slice(1, hostile.length - 1).every((r) => r.isError)).toBe(true);
    expect(results[9]!.result).toContain('Files you changed: src/sum.js');
    expect(results[hostile.length - 1]).toEqual({ result: 'Already noted src/sum.js:2.', isError: false });
    expect(results.at(-1)).toMatchObject({
      isError: true,
      result: expect.stringContaining('Invalid arguments'),
    });
    // The model was told to review its own diff before finishing, with the tool offered.
    const first = JSON.stringify(server.requests[0]!.body);
    expect(first).toContain('add_review_note');
    expect(first).toContain('review your own diff');
  });

  it('SINGLE_SHOT: a failed verification is reported in the failed outcome with the notes', async () => {
    const { executor, context } = await startAgent({
      script: [
        {
          toolCalls: [
            {
              name: 'edit_file',
              arguments: { path: 'src/sum.js', old_string: 'return a - b;', new_string: 'return a * b;' },
            },
          ],
        },
        { toolCalls: [note('src/sum.js', 1, 'Signature unchanged.'), FIX_TURNS[3]!.toolCalls[0]!] },
      ],
    });
    const run = context({ strategy: 'SINGLE_SHOT' });

    const outcome = await executor.execute(run.ctx);

    expect(outcome.kind).toBe('failed');
    if (outcome.kind !== 'failed') return;
    expect(outcome.error.code).toBe('VERIFICATION_FAILED');
    expect(outcome.result?.verification).toEqual({ passed: false, command: 'npm test' });
    expect(outcome.result?.reviewNotes).toEqual([
      { path: 'src/sum.js', line: 1, body: 'Signature unchanged.' },
    ]);
  });

  it('MULTI_AGENT: the reviewer notes a line of the combined diff before approving', async () => {
    const { server, executor, context } = await startAgent({
      script: [
        {
          toolCalls: [
            {
              name: 'submit_plan',
              arguments: { subtasks: [{ title: 'Fix sum', description: 'Make sum add.' }] },
            },
          ],
        },
        FIX_TURNS[1]!,
        FIX_TURNS[3]!,
        (request) => {
          expect(JSON.stringify(request.body['tools'])).toContain('add_review_note');
          expect(JSON.stringify(request.body['messages'])).toContain('add_review_note');
          return {
            toolCalls: [
              note('src/sum.js', 2, 'Reviewed: adds now.'),
              { name: 'submit_review', arguments: { verdict: 'approve' } },
            ],
          };
        },
      ],
    });
    const run = context({ strategy: 'MULTI_AGENT' });

    const outcome = await executor.execute(run.ctx);

    expect(outcome.kind).toBe('succeeded');
    if (outcome.kind !== 'succeeded') return;
    server.assertDone();
    expect(outcome.result.reviewNotes).toEqual([
      { path: 'src/sum.js', line: 2, body: 'Reviewed: adds now.' },
    ]);
    expect(outcome.result.verification).toEqual({ passed: true, command: 'npm test' });
  });

  it('keeps the notes across an ask_user pause', async () => {
    const { executor, context } = await startAgent({
      script: [
        FIX_TURNS[1]!,
        {
          toolCalls: [
            note('src/sum.js', 2, 'The fix.'),
            { name: 'ask_user', arguments: { question: 'Also docs?' } },
          ],
        },
        FIX_TURNS[3]!,
      ],
      store: new MemoryConversationStore(),
    });
    const first = context({ strategy: 'ITERATIVE' });
    expect((await executor.execute(first.ctx)).kind).toBe('awaiting_input');
    const second = context({
      strategy: 'ITERATIVE',
      attempt: 2,
      answers: [{ question: 'Also docs?', answer: 'No.' }],
    });
    const outcome = await executor.execute(second.ctx);
    expect(outcome.kind).toBe('succeeded');
    if (outcome.kind !== 'succeeded') return;
    expect(outcome.result.reviewNotes).toEqual([{ path: 'src/sum.js', line: 2, body: 'The fix.' }]);
    expect(outcome.result.verification).toEqual({ passed: true, command: 'npm test' });
  });
});

describe('ReviewNotebook on a real change', { timeout: 120_000 }, () => {
  async function changedWorkspace(): Promise<{ notebook: ReviewNotebook; root: string }> {
    fixture = createFixture();
    const root = realpathSync(fixture.clone().dir);
    const workspace = new GitWorkspace({
      dir: root,
      branch: 'agent/notes',
      runner: new ChildProcessRunner(),
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: root },
      signal: new AbortController().signal,
      timeoutMs: 60_000,
      location: { url: fixture.origin },
      author: { name: 'Agent', email: 'agent@example.test' },
    });
    await workspace.checkoutBranch();
    // 60 lines, one changed at line 30: lines 27-33 are on the diff, the rest only exist in the new version.
    const long = Array.from({ length: 60 }, (_, i) => `line ${i + 1}`);
    writeFileSync(join(root, 'long.txt'), `${long.join('\n')}\n`);
    await workspace.commitAll('long file');
    workspace.base = (await workspace.git(['rev-parse', 'HEAD'])).output.trim();
    long[29] = 'line 30 changed';
    writeFileSync(join(root, 'long.txt'), `${long.join('\n')}\n`);
    writeFileSync(join(root, 'src', 'sum.js'), 'export function sum(a, b) {\n  return a + b;\n}\n');
    symlinkSync('/etc/passwd', join(root, 'passwd-link'));
    writeFileSync(join(root, 'blob.bin'), Buffer.from([0, 1, 2, 0, 10]));
    return { notebook: new ReviewNotebook({ root, changes: workspace }), root };
  }

  it('tells notes on the diff from notes outside its hunks, refuses links out, binaries, and the 51st note', async () => {
    const { notebook } = await changedWorkspace();
    const on = await notebook.add({ path: 'long.txt', line: 31, body: 'near the change' });
    expect(on).toMatchObject({ ok: true, message: expect.stringContaining('line comment') });
    const off = await notebook.add({ path: 'long.txt', line: 5, body: 'far from it' });
    expect(off).toMatchObject({ ok: true, message: expect.stringContaining('review summary') });
    expect(await notebook.add({ path: 'passwd-link', line: 1, body: 'x' })).toMatchObject({
      ok: false,
      code: ReviewNoteRefusal.REVIEW_NOTE_LINE_INVALID,
    });
    for (const [path, body] of [
      ['src/sum.js', 'lone \ud800 surrogate'],
      ['src/sum.js\udc00', 'fine'],
    ])
      expect(await notebook.add({ path: path!, line: 2, body: body! })).toMatchObject({
        ok: false,
        code: path!.endsWith('js')
          ? ReviewNoteRefusal.REVIEW_NOTE_BODY_INVALID
          : ReviewNoteRefusal.REVIEW_NOTE_PATH_INVALID,
      });
    expect(await notebook.add({ path: 'blob.bin', line: 1, body: 'x' })).toMatchObject({
      ok: false,
      code: ReviewNoteRefusal.REVIEW_NOTE_LINE_INVALID,
      message: expect.stringContaining('binary'),
    });
    for (let line = 1; notebook.notes.length < 50; line++)
      expect((await notebook.add({ path: 'long.txt', line, body: `note ${line}` })).ok).toBe(true);
    expect(await notebook.add({ path: 'src/sum.js', line: 2, body: 'one too many' })).toMatchObject({
      ok: false,
      code: ReviewNoteRefusal.REVIEW_NOTE_LIMIT_REACHED,
    });
    expect(notebook.notes).toHaveLength(50);
  });

  it('accepts no generated hostile path, and every refusal is coded', async () => {
    const { notebook } = await changedWorkspace();
    const next = seededRandom(20261206);
    const pieces = [
      '..',
      '.',
      '',
      'src',
      'sum.js',
      'long.txt',
      '/',
      '\\',
      '\u0000',
      '\n',
      '\u202e',
      '~',
      'C:',
      '%2e%2e',
      ' ',
      'passwd-link',
      '\u0085',
    ];
    const generate = (): string =>
      Array.from(
        { length: 1 + Math.floor(next() * 6) },
        () => pieces[Math.floor(next() * pieces.length)]!,
      ).join(next() < 0.7 ? '/' : '');
    // The path rule alone over many paths: nothing it lets through climbs, is absolute, or carries control characters.
    for (let i = 0; i < 20_000; i++) {
      const path = generate();
      if (pathProblem(path) !== null) continue;
      expect(path.split('/')).not.toContain('..');
      expect(path.startsWith('/') || path.startsWith('~') || path.includes('\\')).toBe(false);
      // eslint-disable-next-line no-control-regex
      expect(/[\u0000-\u001f\u0085\u202e]/.test(path), JSON.stringify(path)).toBe(false);
    }
    // Through the notebook (git answers the change): only files of the change are ever accepted.
    const allowed = new Set(['src/sum.js', 'long.txt', 'passwd-link', 'blob.bin']);
    const codes = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const path = generate();
      const result = await notebook.add({ path, line: 1, body: 'probe' });
      if (result.ok) expect(allowed.has(path), JSON.stringify(path)).toBe(true);
      else {
        expect(result.message.startsWith(`${result.code}: `)).toBe(true);
        codes.add(result.code);
      }
    }
    expect(notebook.notes.every((n) => allowed.has(n.path))).toBe(true);
    expect(codes).toContain(ReviewNoteRefusal.REVIEW_NOTE_PATH_INVALID);
    expect(codes).toContain(ReviewNoteRefusal.REVIEW_NOTE_NOT_IN_CHANGE);
  });
});
