import { DatabaseError } from './DatabaseError.js';

/**
 * Parses a PostgreSQL connection URL.
 * @throws {DatabaseError} `INVALID_DATABASE_URL`.
 */
export function parseDatabaseUrl(url: string): URL {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined || (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:')) {
    const received = redactUrl(url);
    throw new DatabaseError(
      'INVALID_DATABASE_URL',
      `Invalid database URL: expected postgres://user[:password]@host[:port]/database, got "${received}".`,
      { received },
    );
  }
  return parsed;
}

/** The URL with its password masked, for logs and error messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
}
