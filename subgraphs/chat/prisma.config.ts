import { subgraphPrismaConfig } from '@cap/db/prisma-config';
import { defineConfig } from 'prisma/config';

/** The Prisma CLI's configuration: this subgraph's schema `chat` (see `subgraphPrismaConfig`). */
export default defineConfig(subgraphPrismaConfig('chat'));
