import { pino, type Logger, type LoggerOptions } from 'pino';
import type { Config } from './config/schema.ts';
import { redactUrl } from './core/public-urls.ts';

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
    // The request line as fastify logs it, with the tokens in confirm, unsubscribe and
    // preferences paths and an admin `?token=` cut out: a log is read by more people, and
    // kept longer, than the links are meant for.
    serializers: { req: serializeRequest },
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

interface LoggedRequest {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  socket?: { remoteAddress?: string };
}

function serializeRequest(request: LoggedRequest): Record<string, unknown> {
  return {
    method: request.method,
    url: typeof request.url === 'string' ? redactUrl(request.url) : request.url,
    host: request.host,
    remoteAddress: request.ip ?? request.socket?.remoteAddress,
  };
}

/** A logger from the resolved config: LOG_LEVEL and the TTY decide the rest. */
export function loggerFromConfig(config: Pick<Config, 'LOG_LEVEL'>, name?: string): Logger {
  return createLogger({ level: config.LOG_LEVEL, ...(name ? { name } : {}) });
}
