import type { IncomingHttpHeaders, Server, ServerResponse } from 'node:http';
import { createHttpServer } from '@cap/runtime';
import type { AddressInfo } from 'node:net';
import type { RawMessageStreamEvent, Usage } from '@anthropic-ai/sdk/resources/messages/messages';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';

/** One scripted model answer, provider-neutral; the server encodes it in the provider's wire format. */
export interface ScriptedTurn {
  text?: string;
  /** `arguments` as raw text (possibly malformed on purpose) or an object to serialise. */
  toolCalls?: Array<{ name: string; arguments: string | Record<string, unknown> }>;
  usage?: { input: number; output: number };
  /** Send the first part of the stream, then nothing more (the connection stays open). */
  stall?: boolean;
  /** Send the first part of the stream, then reset the connection. */
  reset?: boolean;
}
/** An HTTP error instead of a stream. */
export interface ScriptedError {
  status: number;
  headers?: Record<string, string>;
  message?: string;
}
/** A recorded request. */
export interface RecordedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
  /** When it arrived (performance.now()). */
  at: number;
}
export type ScriptStep =
  | ScriptedTurn
  | ScriptedError
  | ((request: RecordedRequest) => ScriptedTurn | ScriptedError);

export type Provider = 'openai' | 'anthropic';

/**
 * A scripted model server on loopback speaking the real wire formats: OpenAI Chat Completions streamed as SSE
 * `chat.completion.chunk`s with incremental `tool_calls` deltas, and Anthropic Messages streaming events. The
 * payloads are typed against the SDKs' own exported types. Every request is recorded; `assertDone` checks that
 * the whole script was consumed and nothing more was asked.
 */
export class FakeModelServer {
  readonly provider: Provider;
  readonly requests: RecordedRequest[] = [];
  readonly #script: ScriptStep[];
  readonly #server: Server;
  readonly #open = new Set<ServerResponse>();
  #unexpected = 0;
  /** Resolves when a stalled stream has sent its first part (tests cancel then). */
  stalled: Promise<void>;
  #markStalled: () => void = () => {};

  private constructor(provider: Provider, script: ScriptStep[]) {
    this.provider = provider;
    this.#script = [...script];
    this.stalled = new Promise((resolve) => (this.#markStalled = resolve));
    this.#server = createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
        const request = { path: req.url ?? '', headers: req.headers, body, at: performance.now() };
        this.requests.push(request);
        this.#respond(request, res);
      });
    });
  }

  static async start(provider: Provider, script: ScriptStep[]): Promise<FakeModelServer> {
    const server = new FakeModelServer(provider, script);
    await new Promise<void>((resolve) => server.#server.listen(0, '127.0.0.1', resolve));
    return server;
  }

  /** The base URL the provider's SDK is configured with. */
  get baseUrl(): string {
    const { port } = this.#server.address() as AddressInfo;
    return this.provider === 'openai' ? `http://127.0.0.1:${port}/v1` : `http://127.0.0.1:${port}`;
  }

  get remaining(): number {
    return this.#script.length;
  }

  /** Throws unless every scripted step was served and no request came after the script ended. */
  assertDone(): void {
    if (this.#script.length > 0 || this.#unexpected > 0) {
      throw new Error(
        `Fake ${this.provider} server: ${this.#script.length} scripted steps unused, ${this.#unexpected} unexpected requests.`,
      );
    }
  }

  async close(): Promise<void> {
    for (const res of this.#open) res.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #respond(request: RecordedRequest, res: ServerResponse): void {
    const expectedPath = this.provider === 'openai' ? '/v1/chat/completions' : '/v1/messages';
    const next = this.#script.shift();
    if (!next || request.path !== expectedPath) {
      this.#unexpected++;
      res
        .writeHead(400, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { message: `unexpected request to ${request.path}` } }));
      return;
    }
    const step = typeof next === 'function' ? next(request) : next;
    if ('status' in step) {
      const type =
        this.provider === 'openai'
          ? { error: { message: step.message ?? 'error', type: 'server_error' } }
          : { type: 'error', error: { type: 'api_error', message: step.message ?? 'error' } };
      res
        .writeHead(step.status, { 'content-type': 'application/json', ...step.headers })
        .end(JSON.stringify(type));
      return;
    }
    const events = this.provider === 'openai' ? openAIEvents(step) : anthropicEvents(step);
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    this.#open.add(res);
    res.on('close', () => this.#open.delete(res));
    const sent =
      step.stall || step.reset ? events.slice(0, Math.max(1, Math.floor(events.length / 2))) : events;
    for (const event of sent) res.write(event);
    if (step.stall) {
      this.#markStalled();
      return;
    }
    if (step.reset) {
      res.socket?.resetAndDestroy();
      return;
    }
    res.end();
  }
}

function argumentsText(value: string | Record<string, unknown>): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Splits text into up to three pieces, as streams deliver it. */
function pieces(text: string): string[] {
  if (text.length < 3) return text.length === 0 ? [] : [text];
  const third = Math.ceil(text.length / 3);
  return [text.slice(0, third), text.slice(third, 2 * third), text.slice(2 * third)];
}

let sequence = 0;

function openAIEvents(turn: ScriptedTurn): string[] {
  const id = `chatcmpl-${++sequence}`;
  const chunk = (choices: ChatCompletionChunk['choices'], usage?: ChatCompletionChunk['usage']): string => {
    const payload = {
      id,
      object: 'chat.completion.chunk',
      created: 1_700_000_000,
      model: 'fake-model',
      choices,
      ...(usage ? { usage } : {}),
    } satisfies ChatCompletionChunk;
    return `data: ${JSON.stringify(payload)}\n\n`;
  };
  const out = [chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }])];
  for (const piece of pieces(turn.text ?? ''))
    out.push(chunk([{ index: 0, delta: { content: piece }, finish_reason: null }]));
  (turn.toolCalls ?? []).forEach((call, index) => {
    out.push(
      chunk([
        {
          index: 0,
          delta: {
            tool_calls: [
              {
                index,
                id: `call_${sequence}_${index}`,
                type: 'function',
                function: { name: call.name, arguments: '' },
              },
            ],
          },
          finish_reason: null,
        },
      ]),
    );
    for (const piece of pieces(argumentsText(call.arguments))) {
      out.push(
        chunk([
          {
            index: 0,
            delta: { tool_calls: [{ index, function: { arguments: piece } }] },
            finish_reason: null,
          },
        ]),
      );
    }
  });
  out.push(chunk([{ index: 0, delta: {}, finish_reason: turn.toolCalls?.length ? 'tool_calls' : 'stop' }]));
  const usage = turn.usage ?? { input: 100, output: 20 };
  out.push(
    chunk([], {
      prompt_tokens: usage.input,
      completion_tokens: usage.output,
      total_tokens: usage.input + usage.output,
    }),
  );
  out.push('data: [DONE]\n\n');
  return out;
}

function anthropicEvents(turn: ScriptedTurn): string[] {
  const usage = turn.usage ?? { input: 100, output: 20 };
  const event = (payload: RawMessageStreamEvent): string =>
    `event: ${payload.type}\ndata: ${JSON.stringify(payload)}\n\n`;
  const startUsage: Usage = {
    input_tokens: usage.input,
    output_tokens: 1,
    cache_creation: null,
    cache_creation_input_tokens: null,
    cache_read_input_tokens: null,
    inference_geo: null,
    output_tokens_details: null,
    server_tool_use: null,
    service_tier: 'standard',
    speed: null,
  };
  const out = [
    event({
      type: 'message_start',
      message: {
        id: `msg_${++sequence}`,
        type: 'message',
        role: 'assistant',
        model: 'fake-model',
        content: [],
        container: null,
        diagnostics: null,
        stop_details: null,
        stop_reason: null,
        stop_sequence: null,
        usage: startUsage,
      },
    }),
  ];
  let index = 0;
  if (turn.text) {
    out.push(
      event({
        type: 'content_block_start',
        index,
        content_block: { type: 'text', text: '', citations: null },
      }),
    );
    for (const piece of pieces(turn.text))
      out.push(event({ type: 'content_block_delta', index, delta: { type: 'text_delta', text: piece } }));
    out.push(event({ type: 'content_block_stop', index }));
    index++;
  }
  for (const call of turn.toolCalls ?? []) {
    out.push(
      event({
        type: 'content_block_start',
        index,
        content_block: {
          type: 'tool_use',
          id: `toolu_${sequence}_${index}`,
          name: call.name,
          input: {},
          caller: { type: 'direct' },
        },
      }),
    );
    for (const piece of pieces(argumentsText(call.arguments))) {
      out.push(
        event({
          type: 'content_block_delta',
          index,
          delta: { type: 'input_json_delta', partial_json: piece },
        }),
      );
    }
    out.push(event({ type: 'content_block_stop', index }));
    index++;
  }
  out.push(
    event({
      type: 'message_delta',
      delta: {
        stop_reason: turn.toolCalls?.length ? 'tool_use' : 'end_turn',
        stop_sequence: null,
        container: null,
        stop_details: null,
      },
      usage: {
        input_tokens: usage.input,
        output_tokens: usage.output,
        cache_creation_input_tokens: null,
        cache_read_input_tokens: null,
        output_tokens_details: null,
        server_tool_use: null,
      },
    }),
  );
  out.push(event({ type: 'message_stop' }));
  return out;
}
