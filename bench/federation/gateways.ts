/**
 * The two baselines of the federation benchmark, each a plain deployment of its gateway over the same supergraph:
 * a bare `@apollo/gateway` in Apollo Server, and Hive Gateway (`@graphql-hive/gateway`'s runtime on Node's HTTP
 * server, as its CLI serves it). Neither authenticates nor applies policies.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { createGatewayRuntime } from '@graphql-hive/gateway';

/** A gateway listening on loopback. */
export interface RunningGateway {
  graphqlUrl: string;
  close(): Promise<void>;
}

/** `@apollo/gateway` in Apollo Server's standalone server, as its documentation deploys it. */
export async function startApolloGateway(supergraphSdl: string): Promise<RunningGateway> {
  const server = new ApolloServer({ gateway: new ApolloGateway({ supergraphSdl }), csrfPrevention: true });
  const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
  return { graphqlUrl: url, close: () => server.stop() };
}

/** Hive Gateway's runtime with its defaults (logging off), on Node's HTTP server. */
export async function startHiveGateway(supergraphSdl: string): Promise<RunningGateway> {
  const runtime = createGatewayRuntime({ supergraph: supergraphSdl, logging: false });
  const server = createServer(runtime);
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    graphqlUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await runtime.dispose();
    },
  };
}
