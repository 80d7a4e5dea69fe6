export * from './contract.js';
export * from './errors.js';
export * from './config.js';
export * from './ports.js';
export * from './model.js';
export { RetryingModel, retryAfterMs, type RetryPolicy } from './retryingModel.js';
export { OpenAIModel } from './openaiModel.js';
export { AnthropicModel } from './anthropicModel.js';
export {
  AGENT_TOOLS,
  toolArgumentSchemas,
  toolDefinitions,
  CODING_TOOLS,
  READ_TOOLS,
  type ToolName,
  type ToolArguments,
} from './toolSchemas.js';
export {
  parseToolArguments,
  runTool,
  patchPaths,
  type ToolEnvironment,
  type ToolOutcome,
} from './toolHandlers.js';
export { resolveWorkspacePath, PathRefusedError } from './workspacePaths.js';
export {
  ReviewNotebook,
  ReviewNoteRefusal,
  commentableLines,
  pathProblem,
  type ChangeSource,
  type NoteResult,
} from './reviewNotes.js';
export {
  searchFiles,
  SearchError,
  DEFAULT_SEARCH_LIMITS,
  type SearchLimits,
  type SearchMatch,
} from './safeSearch.js';
export { GitWorkspace, LocalRepositoryAccess } from './gitWorkspace.js';
export { detectSetupCommand, detectVerifyCommand } from './projectDetection.js';
export { BudgetTracker, type Spent } from './budgetTracker.js';
export { agentStateSchema, type AgentState } from './agentState.js';
export { condense } from './agentLoop.js';
export { createAgentExecutor, type AgentExecutor, type AgentExecutorOptions } from './agentExecutor.js';
