/** A task's link to the chat conversation it was created in (columns of `CodingTask`). */
export interface ChatLinked {
  conversationId: string | null;
  chatAgentId: string | null;
}

/**
 * The optional `conversationId`/`agentId` fields of a task event: set for a task created from a chat message,
 * so chat posts the event into the conversation as that agent; empty (not null) otherwise, so the events of
 * other tasks are unchanged.
 */
export function chatLinkOf(task: ChatLinked): { conversationId?: string; agentId?: string } {
  return task.conversationId && task.chatAgentId
    ? { conversationId: task.conversationId, agentId: task.chatAgentId }
    : {};
}

/** The result facts `TaskCompleted` carries beside the summary: branch, commit, diff stats and LLM cost. */
export function completionFacts(
  result: {
    branch?: string | undefined;
    commitSha?: string | null | undefined;
    diffStats?: { filesChanged: number; additions: number; deletions: number } | undefined;
  },
  usage: { costUsd?: unknown },
): {
  branch?: string;
  commitSha?: string;
  diffStats?: { filesChanged: number; additions: number; deletions: number };
  costUsd?: number;
} {
  const cost = usage.costUsd;
  return {
    ...(result.branch ? { branch: result.branch.slice(0, 300) } : {}),
    ...(result.commitSha ? { commitSha: result.commitSha.slice(0, 100) } : {}),
    ...(result.diffStats ? { diffStats: result.diffStats } : {}),
    ...(typeof cost === 'number' && Number.isFinite(cost) && cost >= 0 ? { costUsd: cost } : {}),
  };
}
