import { pino, type Logger, type LoggerOptions } from 'pino';
import type { Config } from './config/schema.ts';

export type { Logger };

export interface LoggerSetup {
  level?: Config['LOG_LEVEL'];
  /** Component name, e.g. `admin`, `public`, `worker`; lands in every line as `name`. */
  name?: string;
  /**
   * Pretty, colored lines for a human at a terminal. Defaults to whether stdout is a TTY,
   * so containers and log shippers always get one JSON object per line.
   */
  pretty?: boolean;
  /** Write somewhere other than stdout (tests). */
  destination?: NodeJS.WritableStream;
}

/**
 * The one logger factory. JSON lines by default (pino), pretty on a terminal. Secrets
 * that might travel in request logs are redacted at the source.
 */
export function createLogger(setup: LoggerSetup = {}): Logger {
  const options: LoggerOptions = {
    level: setup.level ?? 'info',
    ...(setup.name ? { name: setup.name } : {}),
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'DEPESCHE_SECRET', 'ADMIN_TOKEN'], censor: '[redacted]' },
  };
  const pretty = setup.pretty ?? (setup.destination === undefined && process.stdout.isTTY === true);
  if (pretty) {
    // pino-pretty as a transport runs in a worker thread, so formatting never blocks requests.
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } },
    });
  }
  return setup.destination ? pino(options, setup.destination) : pino(options);
}

/** A logger from the resolved config: LOG_LEVEL and the TTY decide the rest. */
export function loggerFromConfig(config: Pick<Config, 'LOG_LEVEL'>, name?: string): Logger {
  return createLogger({ level: config.LOG_LEVEL, ...(name ? { name } : {}) });
}
