import { InjectionToken } from '@angular/core';
import { environment } from '../environments/environment';

/**
 * The router's GraphQL endpoint every data service talks to. Defaults to the build's environment; a
 * deployment that serves the dashboard from another origin overrides it with a provider.
 */
export const ROUTER_URL = new InjectionToken<string>('ROUTER_URL', {
  providedIn: 'root',
  factory: () => environment.routerUrl,
});
