import { createLogger, exitOnConfigError, Shutdown } from '@cap/runtime';
import { componentEnv, loadConfig } from './config.js';
import { startPlatform } from './platform.js';

/** `npm start`: the whole platform in one process on embedded defaults. */
const config = await exitOnConfigError(loadConfig);
const logger = createLogger({ service: 'platform', level: config.LOG_LEVEL });
const shutdown = new Shutdown(logger);
// Orchestration lets running task executions finish for SHUTDOWN_GRACE_MS; everything else gets 15 s more.
shutdown.handleSignals({ timeoutMs: config.SHUTDOWN_GRACE_MS + 15_000 });
// The components' own configurations are read here: a bad one is reported like the launcher's.
const platform = await exitOnConfigError(() => startPlatform({ config, env: componentEnv(), logger }));
shutdown.add('platform', () => platform.close());

const modes = [
  config.DATABASE_URL ? 'PostgreSQL (DATABASE_URL)' : `embedded PostgreSQL in ${config.DATA_DIR}/pglite`,
  config.REDIS_URL ? 'Redis (REDIS_URL)' : 'in-memory cache',
  config.KAFKA_BROKERS ? 'Kafka (KAFKA_BROKERS)' : 'in-memory event bus',
];
const lines = [
  '',
  `  Coding-agent platform is up: ${platform.router.graphqlUrl}`,
  ...(platform.router.sandbox ? [`  (Apollo Sandbox opens at that URL in a browser)`] : []),
  `  Running on ${modes.join(', ')}.`,
  `  Subgraphs on loopback: identity ${platform.identity.subgraph.url}, chat ${platform.chat.subgraph.url},`,
  `  orchestration ${platform.orchestration.subgraph.url}, ml-classifier ${platform.mlClassifier.subgraph?.url ?? '-'},`,
  `  github ${platform.github.subgraph.url}, cicd ${platform.cicd.subgraph.url}.`,
];
const sandbox = platform.orchestration.commandSandbox;
if (sandbox && !sandbox.available) {
  lines.push(
    '',
    `  Task commands CANNOT run: no command sandbox (${sandbox.reason}).`,
    `  Fix: ${sandbox.fix}.`,
  );
} else if (sandbox?.sandbox.mode === 'none') {
  lines.push(
    '',
    '  WARNING: COMMAND_SANDBOX=none: task commands run unsandboxed as your user, with your files and network.',
  );
} else if (sandbox) {
  lines.push(`  Task commands run in a bubblewrap sandbox (COMMAND_SANDBOX=${config.COMMAND_SANDBOX}).`);
}
const { agent, agentMissing } = platform.orchestration;
if (agent) {
  lines.push(`  Tasks without a command are worked on by the agent: ${agent.provider} ${agent.model}.`);
} else if (agentMissing) {
  lines.push(
    '',
    '  No model connected: tasks without a command fail with AGENT_NOT_CONFIGURED.',
    `  ${agentMissing}`,
    '  See "Connect a model" in README.md (OpenAI, Anthropic, a local Ollama).',
  );
}
const admin = platform.identity.bootstrappedAdmin;
if (admin?.generated) {
  lines.push(
    '',
    '  First start: an admin was created. The password is printed only at this start',
    `  (and saved in ${platform.adminCredentialsFile ?? 'the data folder'}, readable by you only):`,
    `    email:    ${admin.email}`,
    `    password: ${admin.password}`,
  );
}
process.stdout.write(`${lines.join('\n')}\n\n`);
