import type { environment as production } from './environment';

/** Replaces `environment.ts` in the `development` configuration (`ng serve`). */
export const environment: typeof production = {
  production: false,
  routerUrl: 'http://127.0.0.1:4000/graphql',
};
