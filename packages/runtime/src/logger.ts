import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { PinoPretty } from 'pino-pretty';

export type { Logger } from 'pino';

/** Paths never written to logs, whatever object they appear in. */
const REDACT = [
  'password',
  '*.password',
  'token',
  '*.token',
  'refreshToken',
  '*.refreshToken',
  'secret',
  '*.secret',
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["x-router-token"]',
  'headers.authorization',
];

/** How log lines are written: `json` for machines (one object a line), `pretty` for a developer's terminal. */
export type LogFormat = 'json' | 'pretty';

/**
 * Readable lines only where a person reads them: stdout is a terminal and `NODE_ENV` is not `production`.
 * Anything else (containers, pipes, files, log shippers, production) gets JSON.
 */
export function logFormatFor(options: { isTTY: boolean; nodeEnv: string | undefined }): LogFormat {
  return options.isTTY && options.nodeEnv !== 'production' ? 'pretty' : 'json';
}

/**
 * Creates the process logger, secrets redacted, tagged with the service name: JSON lines on stdout, or readable
 * lines in a development terminal (see {@link logFormatFor}). An explicit `destination` always gets JSON.
 */
export function createLogger(options: {
  service: string;
  level?: string;
  destination?: NodeJS.WritableStream;
}): Logger {
  const config: LoggerOptions = {
    name: options.service,
    level: options.level ?? 'info',
    redact: { paths: REDACT, censor: '[redacted]' },
    base: { service: options.service },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (options.destination) return pino(config, options.destination as DestinationStream);
  const format = logFormatFor({ isTTY: process.stdout.isTTY === true, nodeEnv: process.env['NODE_ENV'] });
  if (format === 'json') return pino(config);
  // In-process and synchronous (no transport worker): a line is on the terminal before the next statement runs.
  return pino(
    config,
    PinoPretty({
      colorize: true,
      sync: true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname,service',
    }),
  );
}
