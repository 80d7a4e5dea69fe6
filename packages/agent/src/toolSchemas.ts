import { z } from 'zod';
import type { ToolDefinition } from './model.js';

const path = z.string().min(1).max(4_096).describe('Path relative to the repository root.');

/**
 * The agent-computer interface: argument schemas of every tool, by stable name. The names and schemas are
 * part of the package's API (README "Tools"); models see them as JSON Schema ({@link toolDefinitions}).
 */
export const toolArgumentSchemas = {
  list_files: z
    .object({
      path: path.default('.').describe('Directory relative to the repository root; default the root.'),
      max_depth: z.number().int().min(1).max(10).default(3).describe('Levels to descend; default 3.'),
    })
    .strict(),
  read_file: z
    .object({
      path,
      start_line: z.number().int().min(1).optional().describe('First line to return (1-based); default 1.'),
      end_line: z
        .number()
        .int()
        .min(1)
        .optional()
        .describe('Last line to return (inclusive); default start + 399.'),
    })
    .strict(),
  search: z
    .object({
      pattern: z
        .string()
        .min(1)
        .max(500)
        .describe('JavaScript regular expression matched against each line.'),
      path: path.default('.').describe('Directory to search; default the root.'),
      case_insensitive: z.boolean().default(false),
    })
    .strict(),
  write_file: z
    .object({ path, content: z.string().max(1_000_000).describe('The whole new content of the file.') })
    .strict(),
  edit_file: z
    .object({
      path,
      old_string: z
        .string()
        .min(1)
        .describe('Exact text to replace; it must occur exactly once in the file.'),
      new_string: z.string().describe('The replacement text.'),
    })
    .strict(),
  apply_patch: z
    .object({
      patch: z
        .string()
        .min(1)
        .max(1_000_000)
        .describe('A unified diff (as `git diff` prints it), paths relative to the root.'),
    })
    .strict(),
  run_command: z
    .object({
      command: z.string().min(1).max(10_000).describe('A /bin/sh command line, run in the repository root.'),
      timeout_ms: z
        .number()
        .int()
        .min(1_000)
        .max(3_600_000)
        .optional()
        .describe('Time limit, ms; default the configured one.'),
    })
    .strict(),
  ask_user: z
    .object({ question: z.string().min(1).max(10_000).describe('What you need the task creator to answer.') })
    .strict(),
  finish: z
    .object({
      summary: z
        .string()
        .min(1)
        .max(20_000)
        .describe('What you changed and why; becomes the commit message.'),
    })
    .strict(),
  add_review_note: z
    .object({
      path: z
        .string()
        .describe('Path of a file your change touched, relative to the repository root (e.g. src/sum.js).'),
      line: z.number().int().describe('The line in the new version of the file (1-based).'),
      body: z.string().describe('What a reviewer should know about that line; 1 to 5,000 characters.'),
    })
    .strict(),
  submit_plan: z
    .object({
      subtasks: z
        .array(
          z
            .object({
              title: z.string().min(1).max(200),
              description: z
                .string()
                .min(1)
                .max(5_000)
                .describe('What to change and how to tell it is done.'),
            })
            .strict(),
        )
        .min(1)
        .max(12),
    })
    .strict(),
  submit_review: z
    .object({
      verdict: z.enum(['approve', 'request_changes']),
      comments: z
        .string()
        .max(20_000)
        .default('')
        .describe('What must change (required when requesting changes).'),
    })
    .strict(),
} as const;

/** A tool's stable name. */
export type ToolName = keyof typeof toolArgumentSchemas;
/** The parsed arguments of a tool. */
export type ToolArguments<N extends ToolName> = z.output<(typeof toolArgumentSchemas)[N]>;

const descriptions: Record<ToolName, string> = {
  list_files:
    'List files and directories under a directory of the repository (vendored trees such as node_modules are skipped).',
  read_file: 'Read a text file, with line numbers; use start_line/end_line for long files.',
  search: 'Search the repository for lines matching a regular expression; results are capped.',
  write_file: 'Create or overwrite a file with the given content.',
  edit_file:
    'Replace one exact occurrence of old_string with new_string in a file; refused when old_string is absent or occurs more than once.',
  apply_patch: 'Apply a unified diff to the repository (git apply).',
  run_command: 'Run a shell command in the repository root and return its exit code and output (capped).',
  ask_user:
    'Ask the task creator a question; the task pauses until they answer. Use only when the task cannot be done without it.',
  finish: 'Declare the task done, with a summary of the changes. The verification command runs then.',
  add_review_note:
    'Attach a review note to a line of your own change (a file you changed, a line of its new version); it becomes a line comment on the pull request, or a line of the review summary when the line is outside the changed hunks. At most 50 notes.',
  submit_plan: 'Submit the plan: an ordered list of subtasks for the coder.',
  submit_review: 'Approve the combined diff, or request changes with comments.',
};

/** The tools as the models see them: name, description, JSON Schema of the arguments. */
export function toolDefinitions(names: readonly ToolName[]): ToolDefinition[] {
  return names.map((name) => (definitions[name] ??= definitionOf(name)));
}

/** Converting a schema costs milliseconds and every model call needs the definitions: each is built once. */
const definitions: Partial<Record<ToolName, ToolDefinition>> = {};

function definitionOf(name: ToolName): ToolDefinition {
  const { $schema: _ignored, ...parameters } = z.toJSONSchema(toolArgumentSchemas[name], {
    io: 'input',
  }) as Record<string, unknown>;
  return { name, description: descriptions[name], parameters };
}

/** Every tool with its JSON Schema, for documentation. */
export const AGENT_TOOLS: readonly ToolDefinition[] = toolDefinitions(
  Object.keys(toolArgumentSchemas) as ToolName[],
);

/** The coding tools (every role that edits). */
export const CODING_TOOLS: readonly ToolName[] = [
  'list_files',
  'read_file',
  'search',
  'write_file',
  'edit_file',
  'apply_patch',
  'run_command',
  'ask_user',
  'add_review_note',
  'finish',
];
/** Read-only tools (planner, reviewer). */
export const READ_TOOLS: readonly ToolName[] = ['list_files', 'read_file', 'search'];
