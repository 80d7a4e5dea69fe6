import {
  ChatRequestDeclined,
  TaskCancelled,
  TaskCompleted,
  TaskCreated,
  TaskFailed,
  TaskInputRequested,
  TaskProgressed,
  type KnownEnvelope,
} from '@cap/events';
import type { AgentMessageInput } from './agentMessages.js';

/** Characters of a task summary or question quoted in a reply (the whole text is in the task). */
const QUOTE_MAX = 4_000;

const clip = (text: string, max = QUOTE_MAX): string =>
  text.length <= max ? text : `${text.slice(0, max - 1)}…`;

/** `12345678` of a task id, as people refer to it. */
const short = (id: string): string => id.slice(0, 8);

function money(usd: number): string {
  return usd >= 0.01 ? `$${usd.toFixed(2)}` : `$${usd.toFixed(4)}`;
}

/**
 * The message the agent posts for an orchestration event, or null when the event is none of chat's business
 * (a task that was not created from a chat message, or an event type chat does not post). The events are
 * orchestration's facts; the wording is chat's. What each says (README "The agent in chat"):
 * TaskCreated → an acknowledgement; TaskInputRequested → the question; TaskProgressed → the step's note;
 * TaskCompleted → summary, branch, commit, diff stats and cost; TaskFailed → the code and the reason;
 * TaskCancelled → that it stopped; ChatRequestDeclined → why nothing was done.
 */
export function agentReplyFor(envelope: KnownEnvelope): AgentMessageInput | null {
  if (ChatRequestDeclined.is(envelope)) {
    const { conversationId, agentId, code, message } = envelope.payload;
    return { conversationId, agentId, body: `I did not start anything (${code}): ${message}` };
  }
  const body = bodyOf(envelope);
  if (body === null) return null;
  const payload = envelope.payload as { conversationId?: string; agentId?: string };
  if (!payload.conversationId || !payload.agentId) return null;
  return { conversationId: payload.conversationId, agentId: payload.agentId, body };
}

function bodyOf(envelope: KnownEnvelope): string | null {
  if (TaskCreated.is(envelope)) {
    const { title, taskId, repository } = envelope.payload;
    return `On it: **${clip(title, 200)}** (task \`${short(taskId)}\`${repository ? ` on \`${repository}\`` : ''}). I will post my questions, progress and the result here.`;
  }
  if (TaskInputRequested.is(envelope)) {
    return `Question: ${clip(envelope.payload.question)}\n\n_Reply in this conversation to answer._`;
  }
  if (TaskProgressed.is(envelope)) {
    const { role, note } = envelope.payload;
    return role === 'agent' ? note : `(${role}) ${note}`;
  }
  if (TaskCompleted.is(envelope)) {
    const { summary, branch, commitSha, diffStats, costUsd, pullRequestUrl, taskId } = envelope.payload;
    const lines = [`Done (task \`${short(taskId)}\`): ${clip(summary)}`, ''];
    if (branch)
      lines.push(`- Branch: \`${branch}\`${commitSha ? ` (commit \`${commitSha.slice(0, 12)}\`)` : ''}`);
    if (diffStats) {
      lines.push(
        `- Changes: ${diffStats.filesChanged} file${diffStats.filesChanged === 1 ? '' : 's'}, +${diffStats.additions} −${diffStats.deletions}`,
      );
    }
    if (pullRequestUrl) lines.push(`- Pull request: ${pullRequestUrl}`);
    if (costUsd !== undefined && costUsd !== null) lines.push(`- Cost: ${money(costUsd)}`);
    return lines.join('\n').trim();
  }
  if (TaskFailed.is(envelope)) {
    const { error, taskId } = envelope.payload;
    return `I could not finish task \`${short(taskId)}\` (${error.code}): ${clip(error.message)}`;
  }
  if (TaskCancelled.is(envelope)) {
    const { reason, taskId } = envelope.payload;
    return `Task \`${short(taskId)}\` was cancelled${reason ? `: ${clip(reason, 1_000)}` : '.'}`;
  }
  return null;
}
