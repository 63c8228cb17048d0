import pino, { type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * Paths pino blanks in every log line. Tokens, secrets and auth headers never
 * reach a log, whatever object a caller hands to the logger.
 */
export const REDACT_PATHS = [
  'token',
  '*.token',
  'secret',
  '*.secret',
  'password',
  '*.password',
  'authorization',
  '*.authorization',
  '*.headers.authorization',
  '*.headers.cookie',
  'req.headers.authorization',
  '*.headers["x-slack-signature"]',
  'config.slackBotToken',
  'config.slackSigningSecret',
  'config.slackAppToken',
  'config.jwtSecret',
  'config.alertmanagerWebhookToken',
  'config.botApiToken',
  'slackBotToken',
  'slackSigningSecret',
  'slackAppToken',
  'jwtSecret',
  'alertmanagerWebhookToken',
  'botApiToken',
];

export interface LoggerConfig {
  /** Process name, added to every line as `service`. */
  name: string;
  /** pino level. @defaultValue process.env.LOG_LEVEL ?? 'info' */
  level?: string;
  /** Where to write; tests pass a stream to read lines back. */
  destination?: pino.DestinationStream;
}

export function createLogger(config: LoggerConfig): Logger {
  const options: LoggerOptions = {
    name: config.name,
    level: config.level ?? process.env.LOG_LEVEL ?? 'info',
    base: { service: config.name },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return config.destination ? pino(options, config.destination) : pino(options);
}

/** A logger that writes nothing: the default for factories that tests build. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
