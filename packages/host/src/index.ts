export * from './infrastructure.js';
export * from './runSubgraphProcess.js';
export * from './subgraphStore.js';
