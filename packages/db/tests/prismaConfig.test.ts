import { subgraphDatasourceUrl, subgraphPrismaConfig } from '@cap/db/prisma-config';
import { describe, expect, it } from 'vitest';

describe('subgraphPrismaConfig (every subgraph prisma.config.ts)', () => {
  it('points the CLI at the subgraph schema, whatever schema DATABASE_URL names', () => {
    const config = subgraphPrismaConfig('cicd', {
      DATABASE_URL: 'postgres://cap:secret@db.example:5432/cap?schema=public&sslmode=require',
    });
    expect(config.schema).toBe('prisma/schema.prisma');
    expect(config.migrations).toEqual({ path: 'prisma/migrations' });
    const url = new URL(config.datasource.url!);
    expect(url.searchParams.get('schema')).toBe('cicd');
    expect(url.searchParams.get('sslmode')).toBe('require');
    expect(url.username).toBe('cap');
    expect(url.host).toBe('db.example:5432');
  });

  it('leaves the URL unset when DATABASE_URL is unset or empty', () => {
    expect(subgraphPrismaConfig('chat', {}).datasource.url).toBeUndefined();
    expect(subgraphDatasourceUrl('chat', '')).toBeUndefined();
  });

  it('refuses a DATABASE_URL that is not a URL', () => {
    expect(() => subgraphDatasourceUrl('chat', 'not a url')).toThrow(TypeError);
  });
});
