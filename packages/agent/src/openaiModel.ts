import OpenAI from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import type { ModelCallOptions, ModelClient, ModelRequest, ModelResponse, ToolCall } from './model.js';

/**
 * OpenAI-compatible Chat Completions through the official `openai` client, streamed, with tool calling: OpenAI,
 * Azure OpenAI (its `/openai/v1` base URL), Ollama, vLLM, LM Studio and OpenRouter speak it. The SDK's own
 * retries are off (`maxRetries: 0`): {@link RetryingModel} is the only retry layer, so that Retry-After, stalls
 * and the attempt count are handled in one place.
 */
export class OpenAIModel implements ModelClient {
  readonly provider = 'openai' as const;
  readonly #client: OpenAI;

  constructor(options: { apiKey: string | undefined; baseUrl: string }) {
    this.#client = new OpenAI({
      // Local servers ignore the key, but the client insists on one; this placeholder is not a secret.
      apiKey: options.apiKey ?? 'no-key',
      baseURL: options.baseUrl,
      maxRetries: 0,
      organization: null,
      project: null,
    });
  }

  async complete(request: ModelRequest, options: ModelCallOptions): Promise<ModelResponse> {
    const stream = await this.#client.chat.completions.create(
      {
        model: request.model,
        messages: toOpenAIMessages(request),
        tools: request.tools.map(
          (tool): ChatCompletionTool => ({
            type: 'function',
            function: { name: tool.name, description: tool.description, parameters: tool.parameters },
          }),
        ),
        max_completion_tokens: request.maxOutputTokens,
        stream: true,
        stream_options: { include_usage: true },
      },
      { signal: options.signal, timeout: options.timeoutMs, maxRetries: 0 },
    );
    let text = '';
    let stopReason = 'stop';
    let tokensIn = 0;
    let tokensOut = 0;
    const calls = new Map<number, ToolCall>();
    for await (const chunk of stream) {
      options.onActivity?.();
      if (chunk.usage) {
        tokensIn = chunk.usage.prompt_tokens;
        tokensOut = chunk.usage.completion_tokens;
      }
      for (const choice of chunk.choices) {
        const delta = choice.delta;
        if (delta.content) {
          text += delta.content;
          options.onText?.(delta.content);
        }
        for (const part of delta.tool_calls ?? []) {
          const call = calls.get(part.index) ?? { id: '', name: '', arguments: '' };
          if (part.id) call.id = part.id;
          if (part.function?.name) call.name += part.function.name;
          if (part.function?.arguments) call.arguments += part.function.arguments;
          calls.set(part.index, call);
        }
        if (choice.finish_reason) stopReason = choice.finish_reason;
      }
    }
    const toolCalls = [...calls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, call]) => ({ ...call, id: call.id || `call_${index}` }));
    return { text, toolCalls, tokensIn, tokensOut, stopReason };
  }
}

/** The neutral conversation as Chat Completions messages. */
function toOpenAIMessages(request: ModelRequest): ChatCompletionMessageParam[] {
  const messages: ChatCompletionMessageParam[] = [{ role: 'system', content: request.system }];
  for (const message of request.messages) {
    if (message.role === 'user') messages.push({ role: 'user', content: message.content });
    else if (message.role === 'tool')
      messages.push({ role: 'tool', tool_call_id: message.toolCallId, content: message.content });
    else {
      messages.push({
        role: 'assistant',
        content: message.content.length > 0 ? message.content : null,
        ...(message.toolCalls.length > 0
          ? {
              tool_calls: message.toolCalls.map((call) => ({
                id: call.id,
                type: 'function' as const,
                function: { name: call.name, arguments: call.arguments },
              })),
            }
          : {}),
      });
    }
  }
  return messages;
}
