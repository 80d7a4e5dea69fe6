import { DatabaseError } from './DatabaseError.js';

/**
 * A schema name we accept: a plain, unquoted-safe SQL identifier. PostgreSQL truncates identifiers at 63 bytes,
 * which would silently merge two long names, so longer names are refused rather than truncated.
 */
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * Validates a subgraph's schema name and returns it double-quoted for SQL.
 * @throws {DatabaseError} `INVALID_SCHEMA_NAME`.
 */
export function quoteSchemaName(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) {
    throw new DatabaseError(
      'INVALID_SCHEMA_NAME',
      `Invalid schema name: expected a SQL identifier (letters, digits and "_", at most 63), got ${JSON.stringify(schema)}.`,
      { received: schema },
    );
  }
  return `"${schema}"`;
}
