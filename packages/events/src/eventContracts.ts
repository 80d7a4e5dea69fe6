import { chatContracts } from './chat.js';
import { cicdContracts } from './cicd.js';
import { githubContracts } from './github.js';
import { identityContracts } from './identity.js';
import { mlClassifierContracts } from './mlClassifier.js';
import { orchestrationContracts } from './orchestration.js';
import { createContractRegistry, type RegistryEnvelope } from './registry.js';

/**
 * Every event contract of the platform, keyed by `${type}.v${version}`. Consumers validate against it by
 * default. A new context adds a file beside `identity.ts` and spreads its list here.
 */
export const eventContracts = createContractRegistry([
  ...identityContracts,
  ...chatContracts,
  ...orchestrationContracts,
  ...mlClassifierContracts,
  ...githubContracts,
  ...cicdContracts,
]);

/** Any event the platform knows; switch on `type` (and `version`) to narrow the payload. */
export type KnownEnvelope = RegistryEnvelope<typeof eventContracts>;
