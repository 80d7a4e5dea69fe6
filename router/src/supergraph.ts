import { readFile } from 'node:fs/promises';
import { composeServices } from '@apollo/composition';
import { ROUTER_SUPPORTED_SUPERGRAPH_FEATURES, Supergraph } from '@apollo/federation-internals';
import type { SupergraphSdlHook } from '@apollo/gateway';
import {
  ANONYMOUS,
  REQUEST_ID_HEADER,
  ROUTER_TOKEN_HEADER,
  signRouterToken,
  type Logger,
} from '@cap/runtime';
import { parse } from 'graphql';

export interface SupergraphSourceOptions {
  path: string;
  /** Subgraph URL overrides by subgraph name. */
  subgraphUrls: Record<string, string>;
  /** 0 = serve the file as is. Otherwise poll subgraph SDLs and recompose on change (development). */
  pollIntervalMs: number;
  internalTokenSecret: string;
  logger: Logger;
  /**
   * Called with every supergraph before the gateway gets it (the first and each reload); returns the SDL the
   * gateway serves. Throwing refuses that supergraph: at start the router fails, on reload the last one stays.
   */
  load: (supergraphSdl: string) => string;
  /** Told the SDL the gateway serves, at start and after each reload (the router's subscriptions plan with it). */
  onServed?: (servedSdl: string) => void;
}

/** Subgraph names and routing URLs in a supergraph, with overrides applied. */
export function subgraphsOf(
  supergraphSdl: string,
  overrides: Record<string, string>,
): Array<{ name: string; url: string }> {
  return Supergraph.build(supergraphSdl, { supportedFeatures: ROUTER_SUPPORTED_SUPERGRAPH_FEATURES })
    .subgraphs()
    .values()
    .map((subgraph) => ({ name: subgraph.name, url: overrides[subgraph.name] ?? subgraph.url }));
}

/**
 * The gateway's supergraph: the committed `schema/supergraph.graphql`, and in development a poller that fetches
 * every subgraph's SDL (through the router token, like any request) and hot-swaps a recomposed supergraph when a
 * subgraph's schema changed. A composition error keeps the last good supergraph and is logged.
 */
export function supergraphSource(options: SupergraphSourceOptions): SupergraphSdlHook {
  return async ({ update }) => {
    let current = await readFile(options.path, 'utf8');
    const subgraphs = subgraphsOf(current, options.subgraphUrls);
    let lastSdls = '';
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;

    const poll = async (): Promise<void> => {
      const token = await signRouterToken(options.internalTokenSecret, {
        principal: ANONYMOUS,
        requestId: 'supergraph-poll',
        clientIp: 'router',
      });
      const sdls = await Promise.all(
        subgraphs.map(async ({ name, url }) => {
          const response = await fetch(url, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              [ROUTER_TOKEN_HEADER]: token,
              [REQUEST_ID_HEADER]: 'supergraph-poll',
            },
            body: JSON.stringify({ query: '{ _service { sdl } }' }),
            signal: AbortSignal.timeout(3_000),
          });
          const body = (await response.json()) as { data?: { _service?: { sdl?: string } } };
          const sdl = body.data?._service?.sdl;
          if (!sdl) throw new Error(`${name} returned no SDL`);
          return { name, url, sdl };
        }),
      );
      const fingerprint = JSON.stringify(sdls.map((s) => s.sdl));
      if (fingerprint === lastSdls) return;
      const first = lastSdls === '';
      lastSdls = fingerprint;
      const composed = composeServices(
        sdls.map(({ name, url, sdl }) => ({ name, url, typeDefs: parse(sdl) })),
      );
      if (composed.errors) {
        options.logger.error(
          { errors: composed.errors.map((e) => e.message) },
          'subgraph schemas do not compose; keeping the last supergraph',
        );
        return;
      }
      if (composed.supergraphSdl === current) return;
      let served: string;
      try {
        served = options.load(composed.supergraphSdl);
      } catch (error) {
        options.logger.error(
          { err: error },
          'the recomposed supergraph was refused; keeping the last supergraph',
        );
        return;
      }
      current = composed.supergraphSdl;
      if (!first) options.logger.info('a subgraph schema changed; supergraph reloaded');
      update(served);
      options.onServed?.(served);
    };

    const schedule = (): void => {
      if (stopped || options.pollIntervalMs <= 0) return;
      timer = setTimeout(() => {
        poll()
          .catch((error: unknown) => options.logger.debug({ err: error }, 'supergraph poll skipped'))
          .finally(schedule);
      }, options.pollIntervalMs);
      timer.unref();
    };
    schedule();

    const served = options.load(current);
    options.onServed?.(served);
    return {
      supergraphSdl: served,
      cleanup: async () => {
        stopped = true;
        clearTimeout(timer);
      },
    };
  };
}
