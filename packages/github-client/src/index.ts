export * from './credentialCipher.js';
export * from './githubClient.js';
export * from './secretRedactor.js';
export * from './tokenProviders.js';
export * from './repositoryTokenClient.js';
