import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  isCodedError,
  readBody,
  ROUTER_TOKEN_HEADER,
  sendJson,
  verifyRouterToken,
  type RouteHandler,
} from '@cap/runtime';
import type { GithubDeps } from './domain/deps.js';
import { completeAuthorization } from './domain/oauth.js';
import { parseRepositoryReference, fullNameKey } from './domain/validation.js';
import { mayActWithRepositoryCredential } from './domain/repositoryAccessRules.js';

/** Where GitHub sends users back after authorizing (on the router's public origin too). */
export const OAUTH_CALLBACK_PATH = '/oauth/github/callback';

/** The internal route orchestration's agent gets repository tokens from. */
export const REPOSITORY_TOKEN_PATH = '/internal/repository-token';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function coded(res: ServerResponse, status: number, error: unknown): void {
  const code = isCodedError(error) ? String(error.extensions['code']) : 'INTERNAL_SERVER_ERROR';
  const message = isCodedError(error) ? error.message : 'Internal server error.';
  sendJson(res, status, { error: { code, message } });
}

/**
 * `GET /oauth/github/callback?code=&state=`: completes a user's OAuth authorization. 400 OAUTH_STATE_INVALID for
 * a forged, expired or replayed state; the token never appears in the answer.
 */
export function oauthCallbackRoute(deps: GithubDeps): RouteHandler {
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://github');
    const state = url.searchParams.get('state') ?? '';
    const code = url.searchParams.get('code') ?? '';
    if (!state || !code || state.length > 200 || code.length > 200)
      return sendJson(res, 400, {
        error: { code: 'OAUTH_STATE_INVALID', message: 'Expected code and state from GitHub.' },
      });
    try {
      const { login } = await completeAuthorization(deps, { state, code });
      sendJson(res, 200, { connected: login });
    } catch (error) {
      if (!isCodedError(error))
        deps.logger.error({ err: deps.redactor.redactError(error) }, 'OAuth callback failed');
      const status = isCodedError(error) && error.extensions['code'] === 'OAUTH_STATE_INVALID' ? 400 : 502;
      coded(res, isCodedError(error) ? status : 500, error);
    }
  };
}

/**
 * `POST /internal/repository-token` `{ "repository": "owner/name" }`, for services that hold
 * INTERNAL_TOKEN_SECRET only (the router-token mechanism, ADR 0004): a short-lived token for a connected
 * repository, its clone URL and the user name git sends it with. Orchestration's agent calls it per execution
 * and keeps the token in memory only (ADR 0019).
 */
export function repositoryTokenRoute(deps: GithubDeps, secret: string): RouteHandler {
  return async (req: IncomingMessage, res: ServerResponse) => {
    const header = req.headers[ROUTER_TOKEN_HEADER];
    const verified = await verifyRouterToken(secret, Array.isArray(header) ? header[0] : header);
    if (!verified.ok)
      return sendJson(res, 401, { error: { code: 'ROUTER_TOKEN_REQUIRED', message: 'internal only' } });
    let body: { repository?: unknown; onBehalfOf?: unknown } = {};
    try {
      const parsed: unknown = JSON.parse(await readBody(req, 4_096));
      if (parsed !== null && typeof parsed === 'object') body = parsed as typeof body;
    } catch {
      body = {};
    }
    const coordinates =
      typeof body.repository === 'string' ? parseRepositoryReference(body.repository) : null;
    const onBehalfOf = body.onBehalfOf;
    if (
      !coordinates ||
      (onBehalfOf !== undefined && (typeof onBehalfOf !== 'string' || !UUID.test(onBehalfOf)))
    )
      return sendJson(res, 400, {
        error: {
          code: 'BAD_USER_INPUT',
          message: 'expected {"repository": "owner/name", "onBehalfOf"?: "<user id>"}',
        },
      });
    const repository = await deps.prisma.repository.findUnique({
      where: { fullNameKey: fullNameKey(coordinates.owner, coordinates.name) },
    });
    if (!repository)
      return sendJson(res, 404, {
        error: { code: 'NOT_FOUND', message: `${coordinates.owner}/${coordinates.name} is not connected.` },
      });
    // Work on a repository reached with a person's own OAuth token is done as that person on GitHub: only theirs.
    if (!mayActWithRepositoryCredential(repository, onBehalfOf))
      return sendJson(res, 403, {
        error: {
          code: 'REPOSITORY_ACCESS_DENIED',
          message: `${coordinates.owner}/${coordinates.name} is connected with another user's own GitHub account; only their tasks may use it.`,
        },
      });
    try {
      const token = await deps.access.tokenFor(repository, {
        access: repository.access,
        userId: repository.connectedById,
      });
      sendJson(res, 200, {
        repository: `${repository.owner}/${repository.name}`,
        cloneUrl: repository.cloneUrl,
        defaultBranch: repository.defaultBranch,
        username: 'x-access-token',
        token: token.token,
        expiresAt: token.expiresAt?.toISOString() ?? null,
      });
    } catch (error) {
      if (!isCodedError(error))
        deps.logger.error({ err: deps.redactor.redactError(error) }, 'repository token failed');
      coded(res, isCodedError(error) ? 502 : 500, error);
    }
  };
}
