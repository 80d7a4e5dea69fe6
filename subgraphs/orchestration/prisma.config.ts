import { subgraphPrismaConfig } from '@cap/db/prisma-config';
import { defineConfig } from 'prisma/config';

/** The Prisma CLI's configuration: this subgraph's schema `orchestration` (see `subgraphPrismaConfig`). */
export default defineConfig(subgraphPrismaConfig('orchestration'));
