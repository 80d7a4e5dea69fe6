/** A subgraph's Prisma CLI configuration (see prisma-config.mjs). */
export interface SubgraphPrismaConfig {
  schema: string;
  migrations: { path: string };
  datasource: { url: string | undefined };
}

export declare function subgraphPrismaConfig(
  schema: string,
  env?: Record<string, string | undefined>,
): SubgraphPrismaConfig;

export declare function subgraphDatasourceUrl(
  schema: string,
  databaseUrl: string | undefined,
): string | undefined;
