import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Keyspace } from '../../config/redis.ts';

/**
 * Admin sign-in sessions. The browser's cookie holds a random session id, never the admin
 * token: a cookie that leaks (a shared machine, a proxy log) opens one session that ends,
 * not the installation for good. Sessions live in Redis, so every app process shares them,
 * and end on their own after 12 hours, on sign-out, on `depesche admin logout-all`, and
 * when ADMIN_TOKEN is rotated (each session is bound to a fingerprint of the token it was
 * opened with).
 */
export interface AdminSessions {
  /** Opens a session; returns the id for the cookie. */
  open(): Promise<string>;
  valid(id: string): Promise<boolean>;
  close(id: string): Promise<void>;
  /** Ends every session, in every process. */
  closeAll(): Promise<void>;
}

export const SESSION_TTL_S = 12 * 60 * 60;

const hash = (value: string) => createHash('sha256').update(value).digest('hex');
/** Only a hash of the session id is stored: reading Redis does not hand out sessions. */
const sessionHash = (id: string) => hash(`depesche-admin-session\0${id}`);
export const tokenFingerprint = (token: string) => hash(`depesche-admin-token\0${token}`).slice(0, 32);
const newId = () => randomBytes(32).toString('base64url');
const ID = /^[\w-]{43}$/;

export class RedisAdminSessions implements AdminSessions {
  readonly #redis: Redis;
  readonly #keys: Keyspace;
  readonly #fingerprint: string;

  /** `token` may be omitted by callers that only end sessions (the CLI). */
  constructor(redis: Redis, keys: Keyspace, token = '') {
    this.#redis = redis;
    this.#keys = keys;
    this.#fingerprint = tokenFingerprint(token);
  }

  #key(id: string): string {
    return this.#keys.key('admin', 'session', sessionHash(id));
  }

  get #epoch(): string {
    return this.#keys.key('admin', 'sessions', 'epoch');
  }

  async open(): Promise<string> {
    const id = newId();
    const epoch = (await this.#redis.get(this.#epoch)) ?? '0';
    await this.#redis.set(this.#key(id), `${epoch}:${this.#fingerprint}`, 'EX', SESSION_TTL_S);
    return id;
  }

  async valid(id: string): Promise<boolean> {
    if (!ID.test(id)) return false;
    const [value, epoch] = await this.#redis.mget(this.#key(id), this.#epoch);
    return value === `${epoch ?? '0'}:${this.#fingerprint}`;
  }

  async close(id: string): Promise<void> {
    if (ID.test(id)) await this.#redis.del(this.#key(id));
  }

  /** A new epoch: every session opened before it is void at once, however many processes hold one. */
  async closeAll(): Promise<void> {
    await this.#redis.incr(this.#epoch);
  }
}

/** Sessions for an admin app without Redis (tests, a bare preview): this process only. */
export class MemoryAdminSessions implements AdminSessions {
  readonly #sessions = new Map<string, number>();

  async open(): Promise<string> {
    const id = newId();
    this.#sessions.set(sessionHash(id), Date.now() + SESSION_TTL_S * 1000);
    return id;
  }

  async valid(id: string): Promise<boolean> {
    const until = this.#sessions.get(sessionHash(id));
    return until !== undefined && until > Date.now();
  }

  async close(id: string): Promise<void> {
    this.#sessions.delete(sessionHash(id));
  }

  async closeAll(): Promise<void> {
    this.#sessions.clear();
  }
}
