/** Build-time settings of the dashboard. `ng build` (production) uses this file. */
export const environment = {
  production: true,
  /** The router's GraphQL endpoint (HTTP; subscriptions use the same path over graphql-ws). */
  routerUrl: 'http://127.0.0.1:4000/graphql',
};
