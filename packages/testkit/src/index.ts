export * from './kafka.js';
export * from './database.js';
export * from './graphql.js';
export * from './fakeModelServer.js';
export * from './gitFixture.js';
export * from './childProcessRunner.js';
