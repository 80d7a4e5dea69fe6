import type { GithubOctokit } from '@cap/github-client';
import type { PullRequest, Repository } from '../generated/prisma/client.js';
import type { GithubDeps } from './deps.js';
import { githubFailure } from './githubAccess.js';
import type { CompletedTask } from './pullRequestJobs.js';
import { plainMarkdown } from './pullRequestTemplate.js';

/** GitHub's answer to a review whose line comments it cannot place. */
const UNPROCESSABLE = 422;
/** Marks the platform's review of a head commit, so a retry finds it instead of posting a second one. */
const marker = (taskId: string, headSha: string) =>
  `<!-- cap-agent-review task=${taskId} head=${headSha} -->`;

type Note = NonNullable<CompletedTask['reviewNotes']>[number];

/** Lines of the new version a comment may sit on: the added and context lines of the patch's hunks. */
export function commentableLines(patch: string): Set<number> {
  const lines = new Set<number>();
  let line = 0;
  for (const text of patch.split('\n')) {
    const hunk = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(text);
    if (hunk) {
      line = Number(hunk[1]);
      continue;
    }
    if (text.startsWith('-') || text.startsWith('\\')) continue;
    if (text.startsWith('+') || text.startsWith(' ')) lines.add(line++);
  }
  return lines;
}

/** The review's summary body: the agent's summary, its verification, and the notes that are not on the diff. */
export function reviewBody(task: CompletedTask, headSha: string, folded: readonly Note[]): string {
  const lines = ['### The agent’s review', '', plainMarkdown(task.summary.trim() || 'No summary.')];
  lines.push(
    '',
    task.verification
      ? `Verification: ${task.verification.passed ? '✅ passed' : '❌ failed'}${task.verification.command ? ` (\`${plainMarkdown(task.verification.command).replace(/`/g, "'")}\`)` : ''}.`
      : 'Verification: no verification command ran.',
  );
  if (folded.length > 0) {
    lines.push('', 'Notes on lines outside the diff:', '');
    for (const note of folded)
      lines.push(
        `- \`${plainMarkdown(note.path).replace(/`/g, "'")}\` line ${note.line}: ${plainMarkdown(note.body)}`,
      );
  }
  lines.push('', marker(task.taskId, headSha));
  return lines.join('\n').slice(0, 60_000);
}

/** What {@link postAgentReview} did. */
export type ReviewOutcome = 'posted' | 'folded' | 'already';

/**
 * Posts the agent's own review on the task's pull request: a summary body (its summary and verification) and its
 * notes as line comments (`event: COMMENT`), once per pushed head commit. Notes on lines that are not part of the
 * pull request's diff are folded into the summary; when GitHub still refuses the comments (422), the review is
 * posted again with every note folded. A review of this head found on GitHub (a crash after posting) counts as
 * posted. Records the head commit on the pull request.
 */
export async function postAgentReview(
  deps: GithubDeps,
  client: GithubOctokit,
  repository: Repository,
  pullRequest: PullRequest,
  task: CompletedTask,
): Promise<ReviewOutcome> {
  const headSha = pullRequest.headSha;
  if (!headSha || pullRequest.reviewedHeadSha === headSha) return 'already';
  const target = { owner: repository.owner, repo: repository.name, pull_number: pullRequest.number };
  let outcome: ReviewOutcome = 'posted';
  try {
    const existing = await client.paginate(client.rest.pulls.listReviews, { ...target, per_page: 100 });
    if (existing.some((review) => review.body?.includes(marker(task.taskId, headSha)))) outcome = 'already';
    else {
      const notes = task.reviewNotes ?? [];
      const files =
        notes.length > 0
          ? await client.paginate(client.rest.pulls.listFiles, { ...target, per_page: 100 })
          : [];
      const onDiff = new Map(files.map((file) => [file.filename, commentableLines(file.patch ?? '')]));
      const inline = notes.filter((note) => onDiff.get(note.path)?.has(note.line));
      const folded = notes.filter((note) => !inline.includes(note));
      const post = (comments: readonly Note[], outside: readonly Note[]) =>
        client.rest.pulls.createReview({
          ...target,
          commit_id: headSha,
          event: 'COMMENT',
          body: reviewBody(task, headSha, outside),
          comments: comments.map((note) => ({
            path: note.path,
            line: note.line,
            side: 'RIGHT',
            body: plainMarkdown(note.body),
          })),
        });
      try {
        await post(inline, folded);
      } catch (error) {
        if ((error as { status?: unknown }).status !== UNPROCESSABLE || inline.length === 0) throw error;
        await post([], notes);
        outcome = 'folded';
      }
    }
  } catch (error) {
    throw githubFailure(error, deps.redactor);
  }
  await deps.prisma.pullRequest.update({ where: { id: pullRequest.id }, data: { reviewedHeadSha: headSha } });
  return outcome;
}
