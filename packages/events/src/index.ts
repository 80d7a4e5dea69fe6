export * from './envelope.js';
export * from './errors.js';
export * from './defineEvent.js';
export * from './registry.js';
export * from './identity.js';
export * from './chat.js';
export * from './orchestration.js';
export * from './taskLabels.js';
export * from './mlClassifier.js';
export * from './github.js';
export * from './cicd.js';
export * from './eventContracts.js';
/**
 * The zod instance contracts are declared with. Declare payloads with this `z`, not another install's: two
 * zod copies' types are structurally compared member by member, which makes the type checker crawl.
 */
export { z } from 'zod';
