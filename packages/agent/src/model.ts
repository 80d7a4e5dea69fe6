/**
 * The provider-neutral model interface the agent loop talks to. `openaiModel.ts` and `anthropicModel.ts` map
 * it onto each provider's official client; `retryingModel.ts` adds retries, timeouts and stall detection.
 */

/** A tool call the model asked for; `arguments` is the raw JSON text (it may be malformed). */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

/** One message of a conversation (JSON-serialisable: it is persisted between attempts). */
export type ConversationMessage =
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string; toolCalls: ToolCall[] }
  | { role: 'tool'; toolCallId: string; name: string; content: string; isError: boolean };

/** A tool as the model sees it. */
export interface ToolDefinition {
  name: string;
  description: string;
  /** JSON Schema of the arguments object. */
  parameters: Record<string, unknown>;
}

/** One model call. */
export interface ModelRequest {
  model: string;
  system: string;
  messages: readonly ConversationMessage[];
  tools: readonly ToolDefinition[];
  maxOutputTokens: number;
}

/** What one model call returned. */
export interface ModelResponse {
  text: string;
  toolCalls: ToolCall[];
  tokensIn: number;
  tokensOut: number;
  /** The provider's reason (`stop`, `tool_calls`, `end_turn`, `tool_use`, `length`, …). */
  stopReason: string;
}

/** Per-call controls. */
export interface ModelCallOptions {
  signal: AbortSignal;
  /** Called with every streamed piece of text, as it arrives. */
  onText?: ((delta: string) => void) | undefined;
  /** Called whenever any part of the stream arrives (the stall watchdog listens here). */
  onActivity?: (() => void) | undefined;
  /** One request's time limit, ms. */
  timeoutMs: number;
}

/** A model provider behind its official client. */
export interface ModelClient {
  readonly provider: 'openai' | 'anthropic';
  complete(request: ModelRequest, options: ModelCallOptions): Promise<ModelResponse>;
}
