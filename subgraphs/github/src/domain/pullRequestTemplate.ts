import type { TaskCompleted } from '@cap/events';

type Completed = ReturnType<typeof TaskCompleted.parse>['payload'];

/** GitHub's limit on a pull request body, characters. */
const MAX_BODY = 60_000;

/** Neutralises text a task wrote before it lands in Markdown: no HTML, no mentions that would notify people. */
export function plainMarkdown(text: string): string {
  return text
    .replace(/[<>]/g, (c) => (c === '<' ? '&lt;' : '&gt;'))
    .replace(/@(?=[A-Za-z0-9])/g, '@\u200b')
    .slice(0, 20_000);
}

/** The pull request's title: the task's title (or its summary's first line), one line, at most 256 characters. */
export function pullRequestTitle(task: Completed): string {
  const base = (task.title ?? task.summary.split('\n')[0] ?? 'Coding task').replace(/\s+/g, ' ').trim();
  return (base.length > 0 ? base : 'Coding task').slice(0, 256);
}

/**
 * The pull request's body from the task's facts (the Markdown template: summary, what changed, verification,
 * cost and model, a link back to the task). Text the task produced is escaped (no HTML, no @-mentions).
 */
export function pullRequestBody(task: Completed, options: { taskUrlTemplate: string | undefined }): string {
  const lines = [
    '## Summary',
    '',
    plainMarkdown(task.summary.trim() || 'No summary.'),
    '',
    '## What changed',
    '',
  ];
  const stats = task.diffStats;
  lines.push(
    stats
      ? `${stats.filesChanged} file${stats.filesChanged === 1 ? '' : 's'} changed, +${stats.additions} −${stats.deletions}.`
      : `${task.changedFiles} file${task.changedFiles === 1 ? '' : 's'} changed.`,
  );
  if (task.commitSha) lines.push(`Head commit: \`${task.commitSha.slice(0, 40)}\`.`);
  lines.push('', '## Verification', '');
  lines.push(
    task.verification
      ? `${task.verification.passed ? '✅ Passed' : '❌ Failed'}${task.verification.command ? `: \`${plainMarkdown(task.verification.command).replace(/`/g, "'")}\`` : ''}`
      : 'No verification command ran.',
  );
  lines.push('', '## Cost and model', '');
  const cost = typeof task.costUsd === 'number' ? `$${task.costUsd.toFixed(4)}` : 'not recorded';
  lines.push(
    `Cost: ${cost}. Model: ${task.model ? plainMarkdown(task.model) : 'not recorded'}. Attempt ${task.attempt}.`,
  );
  lines.push('', '---', '');
  const link = options.taskUrlTemplate?.replace('{taskId}', task.taskId);
  lines.push(
    link
      ? `Opened by the coding agent for [task ${task.taskId}](${link}).`
      : `Opened by the coding agent for task \`${task.taskId}\`.`,
  );
  return lines.join('\n').slice(0, MAX_BODY);
}
