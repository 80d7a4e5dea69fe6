import { subgraphPrismaConfig } from '@cap/db/prisma-config';
import { defineConfig } from 'prisma/config';

/** The Prisma CLI's configuration: this subgraph's schema `ml_classifier` (see `subgraphPrismaConfig`). */
export default defineConfig(subgraphPrismaConfig('ml_classifier'));
