import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { buildPublicSide, type PublicSide } from '../../src/app/public-side.ts';
import { keyspace, type Keyspace } from '../../src/config/redis.ts';
import { loadConfig, type Config } from '../../src/config/index.ts';
import { loadTranslator } from '../../src/i18n/index.ts';
import { createLogger } from '../../src/log.ts';
import type { SubscriptionSettings } from '../../src/subscribers/subscriptions.ts';
import { signToken, type TokenClaims } from '../../src/subscribers/tokens.ts';
import { createSmtpTransport } from '../../src/transport/smtp.ts';
import type { Transport } from '../../src/transport/types.ts';
import { freePort } from './ports.ts';
import type { TestRedis } from './redis.ts';
import type { TestSmtp } from './smtp.ts';

export const SECRET = 'test-secret-0123456789abcdef0123456789';

export interface TestPublicSide extends PublicSide {
  base: string;
  config: Config;
  keys: Keyspace;
  /** A plain connection for the test's own looks into Redis. */
  admin: Redis;
  /** Every log line the app wrote, parsed. */
  logs: Record<string, unknown>[];
  token(act: TokenClaims['act'], sub: string, extra?: Partial<TokenClaims>): string;
  stop(): Promise<void>;
}

/**
 * The public app as `depesche serve` wires it (its own fail-fast Redis connection, the
 * subscriber domain, spool, mailer, archive adapter), listening on a free port, over the
 * test's redis-server and SMTP server, with a fresh key prefix and spool folder.
 */
export async function startPublicSide(
  redis: TestRedis,
  smtp: TestSmtp,
  options: { env?: Record<string, string>; settings?: Partial<SubscriptionSettings>; spoolRetryMs?: number; prefix?: string; archiveCacheMs?: number } = {},
): Promise<TestPublicSide> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const spoolDir = await mkdtemp(join(tmpdir(), 'depesche-spool-'));
  const prefix = options.prefix ?? `pub${Math.random().toString(36).slice(2, 8)}`;
  const config = loadConfig({
    env: {
      REDIS_URL: redis.url,
      DEPESCHE_PREFIX: prefix,
      DEPESCHE_SECRET: SECRET,
      PUBLIC_URL: base,
      SMTP_URL: smtp.url,
      MAIL_FROM: 'China AI2X Briefing <briefing@example.org>',
      DEFAULT_LIST: 'weekly',
      SUBSCRIBE_RATE_LIMIT: '100000',
      SPOOL_DIR: spoolDir,
      LOG_LEVEL: 'info',
      ...options.env,
    },
  });
  const logs: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger({ level: 'info', destination, pretty: false });
  const translator = await loadTranslator('locales');
  const transport: Transport = createSmtpTransport({ SMTP_URL: smtp.url, SMTP_POOL_SIZE: 2 });
  const side = await buildPublicSide({ config, translator, transport, logger, settings: { mailRetryMs: [50], ...options.settings }, spoolRetryMs: options.spoolRetryMs ?? 200, archiveCacheMs: options.archiveCacheMs ?? 0 });
  await side.app.listen({ port, host: '127.0.0.1' });
  const admin = new Redis(redis.url);
  admin.on('error', () => {});
  return {
    ...side,
    base,
    config,
    keys: keyspace(prefix),
    admin,
    logs,
    token: (act, sub, extra = {}) => signToken({ act, sub, ...extra }, SECRET),
    async stop() {
      await side.close();
      await transport.close();
      admin.disconnect();
      await rm(spoolDir, { recursive: true, force: true });
    },
  };
}

export const form = (fields: Record<string, string | string[]>) => {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(fields)) for (const v of [value].flat()) params.append(key, v);
  return params.toString();
};

/** The mails one address received, waiting until `count` have arrived. */
export async function mailsFor(smtp: TestSmtp, address: string, count = 1, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  const mine = () => smtp.mails.filter((m) => m.to.includes(address.toLowerCase()));
  while (mine().length < count) {
    if (Date.now() > deadline) throw new Error(`${mine().length} of ${count} mails to ${address} arrived`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return mine();
}

/** The confirm link of a mail (from its text part). */
export function confirmLink(mail: { parsed: { text?: string | undefined } }): string {
  const link = /https?:\/\/\S+\/confirm\/\S+/.exec(mail.parsed.text ?? '')?.[0];
  if (!link) throw new Error('no confirm link in the mail');
  return link;
}
