import { subgraphPrismaConfig } from '@cap/db/prisma-config';
import { defineConfig } from 'prisma/config';

/** The Prisma CLI's configuration: this subgraph's schema `github` (see `subgraphPrismaConfig`). */
export default defineConfig(subgraphPrismaConfig('github'));
