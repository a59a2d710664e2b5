import { createHmac } from 'node:crypto';
import type { Redis } from 'ioredis';
import { isLoopbackHost } from '../core/hosts.ts';
import { DepescheError } from '../errors.ts';
import { keyspace } from './redis.ts';
import type { Config } from './schema.ts';

/**
 * Start-up checks for every process that writes to Redis (import, send and the other
 * campaign commands, worker, serve, dev). Each refuses what would lose data or mail
 * silently, and says what fixes it:
 * - a Redis that may evict keys (anything but `maxmemory-policy noeviction`);
 * - a DEPESCHE_SECRET other than the installation's (the links it signs would not verify);
 * and warns when AOF persistence is off. A real send with development URLs is refused
 * separately (`refuseDevUrls`), where sends are made.
 */

export type PreflightWarn = (message: string) => void;

export interface PreflightOptions {
  /** Check DEPESCHE_SECRET against the installation's fingerprint (processes that sign or verify links). */
  secret?: boolean;
  warn?: PreflightWarn;
}

export async function preflight(redis: Redis, config: Config, options: PreflightOptions = {}): Promise<void> {
  const warn = options.warn ?? ((message: string) => process.stderr.write(`warning: ${message}\n`));
  await checkPersistence(redis, config, warn);
  if (options.secret && config.DEPESCHE_SECRET) await checkSecret(redis, config, warn);
}

/** REDIS_URL without its password, for messages. */
export function safeRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

function infoField(info: string, field: string): string | undefined {
  return new RegExp(`^${field}:(.*)$`, 'm').exec(info)?.[1]?.trim();
}

/**
 * Reads the policy from INFO rather than CONFIG GET: managed Redis (ElastiCache, Upstash,
 * Azure, …) often disables CONFIG, never INFO.
 */
export async function checkPersistence(redis: Redis, config: Pick<Config, 'REDIS_URL'>, warn: PreflightWarn): Promise<void> {
  const info = await redis.info();
  const url = safeRedisUrl(config.REDIS_URL);
  const policy = infoField(info, 'maxmemory_policy');
  if (policy === undefined) {
    warn(`Redis at ${url} does not report its maxmemory-policy; make sure it is noeviction, or keys (subscribers, the delivery ledger) can vanish under memory pressure.`);
  } else if (policy !== 'noeviction') {
    throw new DepescheError(
      'E_REDIS',
      `Redis at ${url} runs with maxmemory-policy ${policy}: under memory pressure it deletes keys without a word, subscribers and the delivery ledger included (readers skipped, mailed twice, or an unsubscribe forgotten).`,
      {
        hint: `Set it to noeviction: \`redis-cli -u ${url} CONFIG SET maxmemory-policy noeviction\`, and in redis.conf (\`maxmemory-policy noeviction\`) or your provider's parameter group so it stays after a restart.`,
      },
    );
  }
  if (infoField(info, 'aof_enabled') === '0') {
    warn(`Redis at ${url} has AOF persistence off: a Redis restart loses what was written since the last snapshot, ledger entries included. Turn it on: \`redis-cli -u ${url} CONFIG SET appendonly yes\` (and appendonly yes in redis.conf).`);
  }
}

const FINGERPRINT_TEXT = 'depesche secret fingerprint v1';

/** An HMAC of a fixed text: tells secrets apart without storing or revealing one. */
export function secretFingerprint(secret: string): string {
  return createHmac('sha256', secret).update(FINGERPRINT_TEXT).digest('hex').slice(0, 32);
}

/**
 * The first process with a secret stores its fingerprint; later ones must match it. A
 * process whose DEPESCHE_SECRET_PREVIOUS holds the stored secret is a rotation on
 * purpose: it moves the fingerprint to the new secret, and links signed with the old
 * one keep working wherever DEPESCHE_SECRET_PREVIOUS is set.
 */
export async function checkSecret(redis: Redis, config: Config, warn: PreflightWarn): Promise<void> {
  const secret = config.DEPESCHE_SECRET;
  if (!secret) return;
  const key = keyspace(config.DEPESCHE_PREFIX).key('secret-fingerprint');
  const mine = secretFingerprint(secret);
  const stored = (await redis.set(key, mine, 'NX', 'GET')) ?? mine;
  if (stored === mine) return;
  if (previousSecrets(config).some((old) => secretFingerprint(old) === stored)) {
    await redis.set(key, mine);
    warn(`DEPESCHE_SECRET was rotated: fingerprint ${stored.slice(0, 8)}… → ${mine.slice(0, 8)}…. Links signed with the old secret stay valid while DEPESCHE_SECRET_PREVIOUS holds it.`);
    return;
  }
  throw new DepescheError(
    'E_CONFIG',
    `DEPESCHE_SECRET differs from the one this installation uses (fingerprint ${mine.slice(0, 8)}…, Redis holds ${stored.slice(0, 8)}…). Links this process signs would be refused by the others, and links they sent would be refused here.`,
    {
      hint: 'Give this process the same DEPESCHE_SECRET as the apps and workers. To change the secret on purpose, set the new one in DEPESCHE_SECRET and the old one in DEPESCHE_SECRET_PREVIOUS (README: Rotating the secret).',
    },
  );
}

/** Older secrets whose links still verify (DEPESCHE_SECRET_PREVIOUS, comma-separated). */
export function previousSecrets(config: Pick<Config, 'DEPESCHE_SECRET_PREVIOUS'>): string[] {
  return (config.DEPESCHE_SECRET_PREVIOUS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

/** What makes a configuration unfit for a real send: links to this machine, a sender at localhost. */
export function devUrlProblems(config: Pick<Config, 'PUBLIC_URL' | 'MAIL_FROM'>): string[] {
  const problems: string[] = [];
  const host = new URL(config.PUBLIC_URL).hostname;
  if (isLoopbackHost(host) || host === '0.0.0.0' || host.endsWith('.localhost')) {
    problems.push(`PUBLIC_URL is ${config.PUBLIC_URL}, so every unsubscribe and preferences link would point at the reader's own machine`);
  }
  const domain = /@([^>\s]+)>?\s*$/.exec(config.MAIL_FROM)?.[1]?.toLowerCase() ?? '';
  if (domain === 'localhost' || domain.endsWith('.localhost') || isLoopbackHost(domain)) {
    problems.push(`MAIL_FROM is ${config.MAIL_FROM}, an address nobody can answer or verify`);
  }
  return problems;
}

/** Refuses a real send with development URLs, unless allowed (`--allow-dev-urls`, ALLOW_DEV_URLS, `depesche dev`). */
export function refuseDevUrls(config: Pick<Config, 'PUBLIC_URL' | 'MAIL_FROM'>, allowed: boolean): string[] {
  const problems = devUrlProblems(config);
  if (problems.length > 0 && !allowed) {
    throw new DepescheError('E_CONFIG', `Not sending with development settings: ${problems.join('; ')}.`, {
      hint: 'Set PUBLIC_URL to the https address of the public app and MAIL_FROM to your real sender. For a test send on purpose, pass --allow-dev-urls (or set ALLOW_DEV_URLS=true).',
    });
  }
  return problems;
}
