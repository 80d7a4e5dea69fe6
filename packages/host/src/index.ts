export * from './infrastructure.js';
export * from './runSubgraphProcess.js';
