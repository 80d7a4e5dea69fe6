import { LocalRepositoryAccess, type RepositoryAccess } from '@cap/agent';
import { GithubRepositoryAccess, RepositoryTokenClient, type SecretRedactor } from '@cap/github-client';

/**
 * The agent's {@link RepositoryAccess} on this worker: GitHub repositories (`owner/name`) through the github
 * subgraph, which keeps every credential and grants a short-lived token per execution over its internal route
 * (authenticated with INTERNAL_TOKEN_SECRET); local paths as before. Orchestration stores no GitHub token: the
 * grant lives in the execution's memory, is registered with the log's redaction, and is handed to git on the host
 * through the environment only (`gitCredentialEnv`), never to the sandbox (ADR 0019).
 */
export function createRepositoryAccess(options: {
  /** The github subgraph's base URL (e.g. http://127.0.0.1:4005); null = local repositories only. */
  githubUrl: string | null;
  internalTokenSecret: string;
  redactor?: SecretRedactor;
}): RepositoryAccess {
  const local = new LocalRepositoryAccess();
  if (!options.githubUrl) return local;
  const client = new RepositoryTokenClient({
    baseUrl: options.githubUrl,
    internalTokenSecret: options.internalTokenSecret,
    ...(options.redactor ? { redactor: options.redactor } : {}),
  });
  return new GithubRepositoryAccess(client, local);
}
