import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** What a subgraph declares in its package.json under `subgraph`. */
export interface SubgraphManifest {
  /** Absolute package directory. */
  dir: string;
  /** Name in the supergraph. */
  name: string;
  /** Its PostgreSQL schema. */
  schema: string;
  /** Routing URL written into the committed supergraph (overridden per deployment by SUBGRAPH_<NAME>_URL). */
  routingUrl: string;
  /** Module exporting `schema` (the Pothos subgraph schema), relative to `dir`. */
  schemaModule: string;
}

/** Subgraphs are the workspace packages under `subgraphs/` that declare a `subgraph` manifest. */
export function listSubgraphs(): SubgraphManifest[] {
  const base = join(root, 'subgraphs');
  return readdirSync(base)
    .filter((dir) => existsSync(join(base, dir, 'package.json')))
    .map((dir) => {
      const pkg = JSON.parse(readFileSync(join(base, dir, 'package.json'), 'utf8')) as {
        subgraph?: Omit<SubgraphManifest, 'dir'>;
      };
      if (!pkg.subgraph) throw new Error(`subgraphs/${dir}/package.json has no "subgraph" manifest`);
      return { dir: join(base, dir), ...pkg.subgraph };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}
