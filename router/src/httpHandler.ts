import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  answeringUnexpectedErrors,
  isInternalCaller,
  readinessResponse,
  runReadiness,
  sendJson,
  type Logger,
  type ReadinessChecks,
} from '@cap/runtime';
import { applyCors } from './cors.js';
import { forwardToGithub, GITHUB_FORWARDED_PATHS } from './forwardToGithub.js';

/** Where the router serves GraphQL (and Apollo Sandbox when it is on). */
export const GRAPHQL_PATH = '/graphql';
const FOUND = 302;
const NOT_FOUND = 404;

/**
 * The router's HTTP routes: CORS first, then `/health`, `/ready`, `/` (redirect to GraphQL), `/graphql`, and
 * GitHub's webhook and OAuth return, forwarded unchanged to the github subgraph.
 * Subscriptions (graphql-ws upgrades and the SSE path) are attached to the same server beside it.
 */
export function routerHttpHandler(options: {
  corsOrigins: readonly string[];
  readiness: ReadinessChecks;
  /** Whether `/ready` shows every caller its details (development), not only internal callers. */
  development: boolean;
  graphql: (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;
  /** The github subgraph's base URL (SUBGRAPH_GITHUB_URL without `/graphql`). */
  githubUrl: string;
  logger: Logger;
}): (req: IncomingMessage, res: ServerResponse) => void {
  const github = forwardToGithub({ githubUrl: options.githubUrl, logger: options.logger });
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://router');
    if (applyCors(options.corsOrigins, req, res)) return;
    if (url.pathname === '/health') return sendJson(res, 200, { status: 'ok', service: 'router' });
    if (url.pathname === '/ready') {
      const report = await runReadiness(options.readiness);
      // Error messages name internal hosts and ports: only for this host's callers, or in development.
      const { statusCode, body } = readinessResponse(
        'router',
        report,
        options.development || isInternalCaller(req),
      );
      return sendJson(res, statusCode, body);
    }
    if (url.pathname === '/') {
      res.writeHead(FOUND, { location: GRAPHQL_PATH }).end();
      return;
    }
    if (url.pathname === GRAPHQL_PATH) return options.graphql(req, res, url);
    if (GITHUB_FORWARDED_PATHS.has(url.pathname)) return github(req, res, url);
    sendJson(res, NOT_FOUND, { error: 'not found' });
  };
  return answeringUnexpectedErrors(handle, options.logger, 'unhandled error in router');
}
