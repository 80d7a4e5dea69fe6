export * from './infrastructure.js';
export * from './runSubgraphProcess.js';
export * from './startSubgraph.js';
export * from './subgraphStore.js';
