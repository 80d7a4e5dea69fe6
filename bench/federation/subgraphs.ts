/**
 * The federation benchmark's four subgraphs (accounts, inventory, products, reviews) on Federation 2.9, with the
 * static data of `data.ts`, each on its own loopback HTTP server. Authorization and cost directives are declared
 * where a real graph would put them, so the router's policies have work to do; gateways that do not enforce them
 * are given the supergraph with those links as metadata (`loadSupergraphPolicy(...).gatewaySdl`).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { composeServices } from '@apollo/composition';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { createHttpServer } from '@cap/runtime';
import {
  execute,
  parse,
  validate,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import { IN_STOCK, PRODUCTS, REVIEWS, USERS, type BenchProduct, type BenchUser } from './data.js';

const LINK =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@shareable", "@external", "@requires", "@provides", "@authenticated", "@requiresScopes", "@listSize"])';

/** One subgraph: name, SDL and resolvers. */
interface BenchSubgraph {
  name: 'accounts' | 'inventory' | 'products' | 'reviews';
  typeDefs: string;
  resolvers: Record<string, Record<string, unknown>>;
}

const userById = new Map(USERS.map((user) => [user.id, user]));
const productByUpc = new Map(PRODUCTS.map((product) => [product.upc, product]));
const reviewById = new Map(REVIEWS.map((review) => [review.id, review]));

const SUBGRAPHS: readonly BenchSubgraph[] = [
  {
    name: 'accounts',
    typeDefs: `${LINK}
      type Query {
        me: User @authenticated
        user(id: ID!): User @authenticated
        users: [User] @authenticated @listSize(assumedSize: 6)
      }
      type User @key(fields: "id") {
        id: ID!
        name: String @requiresScopes(scopes: [["graph:read"]])
        username: String @shareable
        birthday: Int @requiresScopes(scopes: [["users:manage"]])
      }`,
    resolvers: {
      Query: {
        me: () => USERS[0],
        user: (_: unknown, args: { id: string }) => userById.get(args.id) ?? null,
        users: () => USERS,
      },
      User: { __resolveReference: (ref: { id: string }) => userById.get(ref.id) ?? null },
    },
  },
  {
    name: 'inventory',
    typeDefs: `${LINK}
      type Product @key(fields: "upc") {
        upc: String!
        weight: Int @external
        price: Int @external
        inStock: Boolean
        shippingEstimate: Int @requires(fields: "price weight")
      }`,
    resolvers: {
      Product: {
        __resolveReference: (ref: { upc: string; price?: number; weight?: number }) => ({
          ...ref,
          inStock: IN_STOCK.get(ref.upc) ?? null,
        }),
        shippingEstimate: (product: { price?: number | null; weight?: number | null }) => {
          if (product.price === null || product.price === undefined) return null;
          if (product.price > 1000) return 0;
          return product.weight === null || product.weight === undefined
            ? null
            : Math.floor(product.weight / 2);
        },
      },
    },
  },
  {
    name: 'products',
    typeDefs: `${LINK}
      type Query {
        topProducts(first: Int = 5): [Product]
          @authenticated
          @listSize(slicingArguments: ["first"], requireOneSlicingArgument: false)
      }
      type Product @key(fields: "upc") {
        upc: String!
        name: String
        price: Int
        weight: Int
      }`,
    resolvers: {
      Query: { topProducts: (_: unknown, args: { first: number }) => PRODUCTS.slice(0, args.first) },
      Product: {
        __resolveReference: (ref: { upc: string }): BenchProduct | null => productByUpc.get(ref.upc) ?? null,
      },
    },
  },
  {
    name: 'reviews',
    typeDefs: `${LINK}
      type Review @key(fields: "id") {
        id: ID!
        body: String
        product: Product
        author: User @provides(fields: "username")
      }
      type User @key(fields: "id") {
        id: ID!
        username: String @external
        reviews: [Review] @listSize(assumedSize: 2)
      }
      type Product @key(fields: "upc") {
        upc: String!
        reviews: [Review] @listSize(assumedSize: 4)
      }`,
    resolvers: {
      Review: {
        __resolveReference: (ref: { id: string }) => reviewById.get(ref.id) ?? null,
        product: (review: { productUpc: string }) => ({ upc: review.productUpc }),
        // Every review's author is the first user, whose username this subgraph provides.
        author: (): Pick<BenchUser, 'id' | 'username'> => ({ id: '1', username: USERS[0]?.username ?? '' }),
      },
      User: {
        __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
        reviews: () => REVIEWS.slice(0, 2),
      },
      Product: {
        reviews: (product: { upc: string }) => REVIEWS.filter((review) => review.productUpc === product.upc),
      },
    },
  },
];

/** The supergraph of the four subgraphs, routed to `urls` (name → GraphQL URL). */
export function composeBenchSupergraph(urls: Readonly<Record<string, string>>): string {
  const composed = composeServices(
    SUBGRAPHS.map((subgraph) => ({
      name: subgraph.name,
      url: urls[subgraph.name] ?? '',
      typeDefs: parse(subgraph.typeDefs),
    })),
  );
  if (composed.errors) throw new Error(composed.errors.map((error) => error.message).join('\n'));
  return composed.supergraphSdl;
}

/** Parsed and validated documents by text: a gateway sends the same few queries over and over. */
const MAX_DOCUMENTS = 500;

function graphqlServer(schema: GraphQLSchema): Server {
  const documents = new Map<string, DocumentNode>();
  const prepared = (query: string): DocumentNode | ExecutionResult => {
    const cached = documents.get(query);
    if (cached) return cached;
    let document: DocumentNode;
    try {
      document = parse(query);
    } catch (error) {
      return { errors: [error as never] };
    }
    const errors = validate(schema, document);
    if (errors.length > 0) return { errors };
    if (documents.size >= MAX_DOCUMENTS) documents.clear();
    documents.set(query, document);
    return document;
  };
  // The connection timeouts of every real server here (held 65 s, 5 s advertised), so the router's pool sees what
  // it sees in production.
  return createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void (async () => {
        let result: ExecutionResult;
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
            query?: string;
            variables?: Record<string, unknown>;
            operationName?: string;
          };
          const document = prepared(body.query ?? '');
          result =
            'kind' in document
              ? await execute({
                  schema,
                  document,
                  variableValues: body.variables ?? {},
                  operationName: body.operationName ?? null,
                })
              : document;
        } catch (error) {
          result = { errors: [{ message: (error as Error).message } as never] };
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
      })();
    });
  });
}

/** The four subgraphs, listening on loopback. */
export interface RunningBenchSubgraphs {
  /** Subgraph name → GraphQL URL. */
  urls: Record<string, string>;
  close(): Promise<void>;
}

/** Starts the four subgraphs on free loopback ports. */
export async function startBenchSubgraphs(): Promise<RunningBenchSubgraphs> {
  const servers: Server[] = [];
  const urls: Record<string, string> = {};
  for (const subgraph of SUBGRAPHS) {
    const schema = buildSubgraphSchema({
      typeDefs: parse(subgraph.typeDefs),
      resolvers: subgraph.resolvers as never,
    });
    const server = graphqlServer(schema);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    urls[subgraph.name] = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  }
  return {
    urls,
    close: async () => {
      for (const server of servers) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };
}
