import Anthropic from '@anthropic-ai/sdk';
import type { ContentBlockParam, MessageParam, Tool } from '@anthropic-ai/sdk/resources/messages/messages';
import type {
  ConversationMessage,
  ModelCallOptions,
  ModelClient,
  ModelRequest,
  ModelResponse,
  ToolCall,
} from './model.js';

/**
 * Anthropic Messages through the official `@anthropic-ai/sdk` client, streamed, with tool use. The SDK's own
 * retries are off (`maxRetries: 0`); {@link RetryingModel} retries.
 */
export class AnthropicModel implements ModelClient {
  readonly provider = 'anthropic' as const;
  readonly #client: Anthropic;

  constructor(options: { apiKey: string; baseUrl: string }) {
    // authToken null: the client would otherwise pick ANTHROPIC_AUTH_TOKEN up from the worker's environment.
    this.#client = new Anthropic({
      apiKey: options.apiKey,
      authToken: null,
      baseURL: options.baseUrl,
      maxRetries: 0,
    });
  }

  async complete(request: ModelRequest, options: ModelCallOptions): Promise<ModelResponse> {
    const stream = await this.#client.messages.create(
      {
        model: request.model,
        system: request.system,
        messages: toAnthropicMessages(request.messages),
        tools: request.tools.map(
          (tool): Tool => ({
            name: tool.name,
            description: tool.description,
            input_schema: tool.parameters as Tool['input_schema'],
          }),
        ),
        max_tokens: request.maxOutputTokens,
        stream: true,
      },
      { signal: options.signal, timeout: options.timeoutMs, maxRetries: 0 },
    );
    let text = '';
    let stopReason = 'end_turn';
    let tokensIn = 0;
    let tokensOut = 0;
    const calls = new Map<number, ToolCall>();
    for await (const event of stream) {
      options.onActivity?.();
      switch (event.type) {
        case 'message_start':
          tokensIn = event.message.usage.input_tokens + (event.message.usage.cache_read_input_tokens ?? 0);
          tokensOut = event.message.usage.output_tokens;
          break;
        case 'content_block_start':
          if (event.content_block.type === 'tool_use') {
            calls.set(event.index, {
              id: event.content_block.id,
              name: event.content_block.name,
              arguments: '',
            });
          }
          break;
        case 'content_block_delta':
          if (event.delta.type === 'text_delta') {
            text += event.delta.text;
            options.onText?.(event.delta.text);
          } else if (event.delta.type === 'input_json_delta') {
            const call = calls.get(event.index);
            if (call) call.arguments += event.delta.partial_json;
          }
          break;
        case 'message_delta':
          if (event.delta.stop_reason) stopReason = event.delta.stop_reason;
          tokensOut = event.usage.output_tokens;
          if (event.usage.input_tokens !== null) tokensIn = event.usage.input_tokens;
          break;
        default:
          break;
      }
    }
    // A tool without arguments streams no input_json_delta at all: its input is the empty object.
    const toolCalls = [...calls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([, call]) => ({ ...call, arguments: call.arguments.length === 0 ? '{}' : call.arguments }));
    return { text, toolCalls, tokensIn, tokensOut, stopReason };
  }
}

/**
 * The neutral conversation as Messages: tool results travel in user turns, and consecutive user-side messages
 * merge into one turn because the API wants user and assistant turns to alternate.
 */
function toAnthropicMessages(messages: readonly ConversationMessage[]): MessageParam[] {
  const out: MessageParam[] = [];
  const pushUser = (block: ContentBlockParam): void => {
    const last = out.at(-1);
    if (last?.role === 'user' && Array.isArray(last.content)) last.content.push(block);
    else out.push({ role: 'user', content: [block] });
  };
  for (const message of messages) {
    if (message.role === 'user') pushUser({ type: 'text', text: message.content });
    else if (message.role === 'tool') {
      pushUser({
        type: 'tool_result',
        tool_use_id: message.toolCallId,
        content: message.content,
        is_error: message.isError,
      });
    } else {
      const content: ContentBlockParam[] = [];
      if (message.content.length > 0) content.push({ type: 'text', text: message.content });
      for (const call of message.toolCalls) {
        content.push({ type: 'tool_use', id: call.id, name: call.name, input: parseInput(call.arguments) });
      }
      if (content.length === 0) content.push({ type: 'text', text: '(no text)' });
      out.push({ role: 'assistant', content });
    }
  }
  return out;
}

/** Echoing a malformed call back needs an object; the raw text is kept so the model sees what it sent. */
function parseInput(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : { value };
  } catch {
    return { malformed_arguments: text };
  }
}
