import { z } from 'zod';
import { EDITION_FALLBACKS } from '../core/edition-fallback.ts';

/**
 * Every setting Depesche reads, in one place. The environment variable is the
 * field name; `.env.example` documents each one. Defaults are what a developer
 * on a laptop wants; production overrides them.
 */
const url = (protocols: string[]) =>
  z
    .string()
    .trim()
    .refine((value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    }, `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`);

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const hostname = () =>
  z
    .string()
    .trim()
    .toLowerCase()
    .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/, 'must be a domain name like bounces.example.org');

export const configSchema = z.object({
  /** Redis holding queues, subscribers, campaigns and the delivery ledger. */
  REDIS_URL: url(['redis:', 'rediss:']).default('redis://127.0.0.1:6379'),
  /** Every Redis key starts with `{PREFIX}:` — one hash tag, so Redis Cluster keeps them on one slot. */
  DEPESCHE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,32}$/, 'use 1–32 letters, digits, dot, dash or underscore')
    .default('depesche'),
  /** Outgoing mail. smtp:// with STARTTLS, smtps:// for implicit TLS; credentials in the URL. */
  SMTP_URL: url(['smtp:', 'smtps:']).default('smtp://127.0.0.1:1025'),
  /** Pooled SMTP connections per worker process. */
  SMTP_POOL_SIZE: int(1, 100).default(5),
  /** Where the public app is reachable; links in every mail point here. */
  PUBLIC_URL: url(['http:', 'https:']).default('http://127.0.0.1:4001'),
  /** Signs unsubscribe, confirm and preferences tokens (HMAC-SHA256). At least 32 characters. */
  DEPESCHE_SECRET: z.string().min(32, 'must be at least 32 characters; generate one with `openssl rand -hex 32`').optional(),
  /**
   * Earlier secrets, comma-separated, whose links (in mails already sent) still verify.
   * A process started with the new DEPESCHE_SECRET and the old one here moves the
   * installation's secret fingerprint in Redis to the new one: a rotation on purpose.
   */
  DEPESCHE_SECRET_PREVIOUS: z.string().optional(),
  /**
   * Allow real sends while PUBLIC_URL points at loopback or MAIL_FROM is at localhost
   * (`depesche dev` sets it; `send --allow-dev-urls` does it once). Otherwise such a send is refused.
   */
  ALLOW_DEV_URLS: z.stringbool().default(false),
  /** Sender of every mail, e.g. `China AI2X Briefing <briefing@example.org>`. */
  MAIL_FROM: z.string().trim().min(3).default('Depesche <newsletter@localhost>'),
  /** Mailbox for List-Unsubscribe mailto: requests. Defaults to unsubscribe@<domain of MAIL_FROM>. */
  UNSUBSCRIBE_MAILTO: z.string().email().optional(),
  /** Domain part of List-Id (RFC 2919), e.g. `briefing.example.org`. Defaults to the domain of PUBLIC_URL. */
  LIST_ID_DOMAIN: z.string().optional(),
  /** Optional DKIM signing: the domain (d=), with an RSA key, an Ed25519 key or both. */
  DKIM_DOMAIN: z.string().optional(),
  /** Selector (s=) of the RSA key. */
  DKIM_SELECTOR: z.string().optional(),
  /** PEM text of the RSA private key, or a path to it in DKIM_PRIVATE_KEY_FILE. */
  DKIM_PRIVATE_KEY: z.string().optional(),
  DKIM_PRIVATE_KEY_FILE: z.string().optional(),
  /** Selector of a second, Ed25519 key (RFC 8463); its signature goes beside the RSA one. */
  DKIM_ED25519_SELECTOR: z.string().optional(),
  /** PEM text of the Ed25519 private key, or a path to it in DKIM_ED25519_PRIVATE_KEY_FILE. */
  DKIM_ED25519_PRIVATE_KEY: z.string().optional(),
  DKIM_ED25519_PRIVATE_KEY_FILE: z.string().optional(),
  /** Global send rate across all workers, messages per second. */
  SEND_RATE: int(1, 100_000).default(200),
  /** Recipients per batch job. */
  BATCH_SIZE: int(1, 5_000).default(200),
  /** Batch jobs one worker process runs at once. */
  WORKER_CONCURRENCY: int(1, 64).default(4),
  /** Days a finished campaign keeps its whole ledger; then only counts and the bounced, failed and unclear readers. */
  LEDGER_RETENTION_DAYS: int(1, 36_500).default(365),
  /** Recipients a batch claims per ledger call; 0: a quarter of the in-flight bound (2 × SMTP_POOL_SIZE). */
  CLAIM_GROUP: int(0, 200).default(0),
  /** Consecutive connection failures after which a campaign pauses itself. */
  PAUSE_AFTER_CONNECTION_FAILURES: int(1, 1000).default(10),
  /** Tries per batch before recipients still refused with 4xx or unreachable count as failed. */
  SEND_ATTEMPTS: int(1, 50).default(8),
  /** First retry delay of a batch after 4xx answers or connection faults; doubles on each try. */
  RETRY_BACKOFF_MS: int(10, 3_600_000).default(5_000),
  /** Old-generation heap cap of a worker process in MB; 0: none. The young generation is kept at 8 MB semi-spaces either way. A cap up to 256 MB bounds RSS near 160 MB but costs about a fifth more CPU per message (see src/app/worker-process.ts). */
  WORKER_HEAP_MB: int(0, 65_536).default(0),
  /** How long a worker holds a batch without renewing its lock; a crashed worker's batch is picked up again after about this long. */
  JOB_LOCK_MS: int(1_000, 600_000).default(30_000),
  /**
   * How long a stopping worker waits for the messages in flight and their ledger marks.
   * When Redis does not answer within it, the worker exits non-zero and logs the answers
   * it could not record (those recipients turn unclear).
   */
  SHUTDOWN_TIMEOUT_MS: int(1_000, 600_000).default(20_000),
  /** Public app. */
  HOST: z.string().default('0.0.0.0'),
  PORT: int(0, 65535).default(3000),
  /** Sign-ups one client IP may post to /subscribe per hour, counted in Redis across all app processes. */
  SUBSCRIBE_RATE_LIMIT: int(1, 100_000).default(10),
  /** List that POST /subscribe joins when the form names none. It is public (the form may name it) unless ops set it private. */
  DEFAULT_LIST: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'use 1–64 letters, digits, dot, dash or underscore')
    .default('newsletter'),
  /** Days a double opt-in confirmation link stays valid. */
  CONFIRM_TTL_DAYS: int(1, 90).default(7),
  /**
   * Behind a reverse proxy: the number of proxy hops in front of the public app (`1` for one
   * proxy), or the proxies' addresses or CIDR ranges (comma-separated), so the client IP
   * (rate limit, consent log) comes from X-Forwarded-For. Empty trusts none. `true` is
   * refused: it would believe any client's X-Forwarded-For, and the consent log would hold
   * whatever IP a client made up.
   */
  TRUST_PROXY: z
    .string()
    .trim()
    .default('')
    .refine((value) => value.toLowerCase() !== 'true', {
      message:
        '`true` trusts an X-Forwarded-For header that any client can set, so rate limits and the consent log would record made-up IPs; ' +
        'set the number of proxies in front of the app (usually 1) or their addresses, e.g. 10.0.0.0/8',
    })
    .refine((value) => value === '' || value === 'false' || /^\d{1,2}$/.test(value) || value.split(',').every((part) => /^[0-9A-Fa-f.:]+(?:\/\d{1,3})?$/.test(part.trim())), {
      message: 'must be a hop count (e.g. 1) or comma-separated proxy addresses or CIDR ranges (e.g. 10.0.0.1, 172.16.0.0/12)',
    }),
  /**
   * Origins besides PUBLIC_URL's from which browsers may post the sign-up form, comma-separated
   * (e.g. `https://www.example.org` when the form sits on the publisher's own site). A POST
   * with any other Origin header is refused; one without an Origin header is accepted.
   */
  FORM_ORIGINS: z
    .string()
    .trim()
    .default('')
    .refine((value) => value === '' || value.split(',').every((part) => /^https?:\/\/[^/\s]+$/.test(part.trim())), {
      message: 'must be origins like https://www.example.org (scheme and host, no path), comma-separated',
    }),
  /**
   * Folder where the public app writes unsubscribes while Redis is unreachable (an
   * append-only file), to apply them once Redis is back. Must survive a restart of the app.
   */
  SPOOL_DIR: z.string().trim().min(1).default('.depesche/spool'),
  /** The publisher's Impressum page; the sign-up page and /impressum link to it. Empty: /impressum shows footer.impressum from locales/. */
  IMPRESSUM_URL: z.union([z.literal(''), url(['http:', 'https:'])]).default(''),
  /** The publisher's privacy policy; the sign-up form links to it. Empty: /privacy shows public.privacy from locales/. */
  PRIVACY_URL: z.union([z.literal(''), url(['http:', 'https:'])]).default(''),
  /** Admin app: preview, ops API, queue dashboard. Loopback unless ADMIN_TOKEN is set. */
  ADMIN_HOST: z.string().default('127.0.0.1'),
  ADMIN_PORT: int(0, 65535).default(3001),
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  // ── The return path: what comes back (bounces, complaints, mailto unsubscribes) ──
  /**
   * Domain of each message's own return path (VERP): the envelope sender becomes
   * `b-<token>@<domain>`, signed, naming campaign and reader. Its MX must lead to
   * `depesche inbound`. Unset: the envelope sender stays MAIL_FROM's address.
   */
  RETURN_PATH_DOMAIN: hostname().optional(),
  /** Address of `depesche inbound`'s SMTP listener. Loopback: behind your MX; `0.0.0.0` to be the MX yourself. */
  INBOUND_SMTP_HOST: z.string().trim().min(1).default('127.0.0.1'),
  /** Port of `depesche inbound`'s SMTP listener (25 when it is the MX itself). */
  INBOUND_SMTP_PORT: int(0, 65535).default(2525),
  /** PEM certificate and key (file paths) for STARTTLS on the inbound listener; both or neither. */
  INBOUND_TLS_CERT_FILE: z.string().optional(),
  INBOUND_TLS_KEY_FILE: z.string().optional(),
  /** Largest message the inbound listener takes, in bytes; reports carry a copy of the original. */
  INBOUND_MAX_BYTES: int(10_000, 100 * 1024 * 1024).default(10 * 1024 * 1024),
  /** Where `depesche inbound` keeps messages it cannot read, one `.eml` with a `.json` note each. */
  INBOUND_QUARANTINE_DIR: z.string().trim().min(1).default('.depesche/quarantine'),
  /** A mailbox to poll instead of (or besides) the listener: `imaps://user:password@imap.example.org/INBOX`. */
  IMAP_URL: url(['imap:', 'imaps:']).optional(),
  /** Where read messages go on the IMAP server; empty: they stay and are only flagged \\Seen. */
  IMAP_PROCESSED_MAILBOX: z.string().trim().default('Depesche/Processed'),
  /** Where messages that cannot be read go on the IMAP server (kept, never deleted). */
  IMAP_QUARANTINE_MAILBOX: z.string().trim().min(1).default('Depesche/Unreadable'),
  /** Seconds between two looks into the IMAP mailbox. */
  IMAP_POLL_SECONDS: int(5, 86_400).default(60),
  /** Amazon SES: SNS topic ARNs (comma-separated) whose notifications /webhooks/ses accepts; empty turns it off. */
  SES_SNS_TOPIC_ARNS: z.string().trim().default(''),
  /** Postmark: the basic-auth user and password set in the webhook URL; both or neither (off). */
  POSTMARK_WEBHOOK_USER: z.string().min(1).optional(),
  POSTMARK_WEBHOOK_PASSWORD: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Mailgun: the HTTP webhook signing key (Mailgun → Sending → Webhooks); empty turns /webhooks/mailgun off. */
  MAILGUN_WEBHOOK_SIGNING_KEY: z.string().min(16).optional(),
  /** Soft bounces (full mailbox, unexplained refusals) that make a hard bounce, within SOFT_BOUNCE_DAYS. */
  SOFT_BOUNCE_LIMIT: int(1, 100).default(3),
  SOFT_BOUNCE_DAYS: int(1, 365).default(30),
  /** Policy or reputation rejections in a row (blocklist, spam verdict) after which a campaign pauses until ops resume it. */
  PAUSE_AFTER_POLICY_REJECTIONS: int(1, 10_000).default(10),
  /** A campaign paused after connection failures resumes by itself this many times, then waits for ops. */
  AUTO_RESUME_ATTEMPTS: int(0, 100).default(5),
  /** First wait before such an automatic resume, in ms; it doubles each time. */
  AUTO_RESUME_DELAY_MS: int(1_000, 86_400_000).default(30_000),
  /** Root of the content: issues/, templates/, locales/. */
  CONTENT_DIR: z.string().default('.'),
  /**
   * What readers get when an issue has no edition in their language: `other` sends the
   * edition there is, with its own `lang` and Content-Language; `skip` sends nothing and
   * counts them as skipped. See `editionFor` in src/core/edition-fallback.ts.
   * @defaultValue `other`
   */
  EDITION_FALLBACK: z.enum(EDITION_FALLBACKS, { error: `must be one of: ${EDITION_FALLBACKS.join(', ')}` }).default('other'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = Partial<Record<keyof Config, string | number | undefined>>;
