import { ChangeDetectionStrategy, Component, inject } from '@angular/core';
import { ROUTER_URL } from './routerUrl';

/** The dashboard shell. Only a placeholder until the dashboard issue lands. */
@Component({
  selector: 'cap-root',
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <main>
      <h1>{{ productName }}</h1>
      <p>The dashboard arrives in a later issue.</p>
      <p>
        GraphQL endpoint: <code>{{ routerUrl }}</code>
      </p>
    </main>
  `,
  styles: `
    main {
      max-width: 40rem;
      margin: 4rem auto;
      padding: 0 1rem;
    }
  `,
})
export class App {
  protected readonly productName = 'Coding Agent Platform';
  protected readonly routerUrl = inject(ROUTER_URL);
}
