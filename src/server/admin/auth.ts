import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DepescheError } from '../../errors.ts';
import { isLoopbackHost } from '../shared/hosts.ts';
import { html } from '../shared/html.ts';
import { CONSOLE_SCRIPT, page, STATIC_PREFIX } from './layout.ts';
import { FAVICON, STYLESHEET } from '../shared/assets.ts';
import { MemoryAdminSessions, SESSION_TTL_S, type AdminSessions } from './sessions.ts';

export const ADMIN_COOKIE = 'depesche_admin';

/** Paths a load balancer, container runtime or the sign-in page must reach without a token; they reveal nothing. */
const OPEN_PATHS = new Set(['/healthz', '/login', '/logout', ...[STYLESHEET, FAVICON, CONSOLE_SCRIPT].map((name) => `${STATIC_PREFIX}${name}`)]);

/**
 * The admin app runs sends and shows subscriber addresses, so anything reachable beyond
 * this machine must be locked. Throws before any port is opened.
 */
export function assertAdminBind(host: string, token: string | undefined): void {
  if (isLoopbackHost(host) || token) return;
  throw new DepescheError(
    'E_CONFIG',
    `The admin app would listen on ${host}, which is reachable from other machines, and ADMIN_TOKEN is not set.`,
    {
      hint:
        'The admin app can start campaigns and shows subscriber data, so it needs a token off loopback. ' +
        'Set ADMIN_TOKEN to a random string of 16+ characters (e.g. `openssl rand -hex 24`), or bind it to 127.0.0.1 with --admin-host.',
    },
  );
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Constant time whatever the lengths: both sides are hashed to 32 bytes first. */
export function tokenMatches(given: string | undefined, expected: string): boolean {
  if (!given) return false;
  return timingSafeEqual(digest(given), digest(expected));
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

function bearer(request: FastifyRequest): string | undefined {
  const auth = request.headers.authorization;
  return auth?.startsWith('Bearer ') ? auth.slice(7).trim() : undefined;
}

/**
 * Behind a TLS proxy the app sees plain http. Trusting X-Forwarded-Proto here is safe
 * without TRUST_PROXY: a forged header can only make the cookie stricter.
 */
function viaHttps(request: FastifyRequest): boolean {
  return request.protocol === 'https' || String(request.headers['x-forwarded-proto'] ?? '').split(',')[0]!.trim() === 'https';
}

function setCookie(reply: FastifyReply, sessionId: string, secure: boolean): void {
  reply.header('set-cookie', `${ADMIN_COOKIE}=${sessionId}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_TTL_S}${secure ? '; Secure' : ''}`);
}

function clearCookie(reply: FastifyReply): void {
  reply.header('set-cookie', `${ADMIN_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
}

function loginPage(next: string, message?: string): string {
  return page(
    'Sign in',
    html`<h1>Admin sign-in</h1>${message ? html`<p class="fail">${message}</p>` : ''}
<form method="post" action="/login"><label>Admin token <input type="password" name="token" autofocus required minlength="16" size="40"></label>
<input type="hidden" name="next" value="${next}"><button type="submit">Sign in</button></form>
<p class="muted">Scripts send <code>Authorization: Bearer &lt;ADMIN_TOKEN&gt;</code> instead.</p>`,
  );
}

function wantsHtml(request: FastifyRequest): boolean {
  return (request.headers.accept ?? '').includes('text/html');
}

/**
 * Where to go after signing in: a path on this app, nothing else. Browsers read `\` as `/`
 * and skip tabs and line breaks in URLs, so `/\evil.example` or `/\t/evil.example` would
 * leave the site; anything but a plain same-origin path becomes `/`. A `token=` in it goes.
 */
export function safeNext(value: unknown): string {
  if (typeof value !== 'string' || value.length > 2000 || !value.startsWith('/')) return '/';
  // eslint-disable-next-line no-control-regex
  if (/[\\\u0000-\u001f\u007f]/.test(value)) return '/';
  let url: URL;
  try {
    url = new URL(value, 'http://admin.invalid');
  } catch {
    return '/';
  }
  if (url.origin !== 'http://admin.invalid') return '/';
  url.searchParams.delete('token');
  return `${url.pathname}${url.search}${url.hash}`;
}

function hostName(hostHeader: string | undefined): string {
  const host = (hostHeader ?? '').trim().toLowerCase();
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  return host.replace(/:\d+$/, '');
}

/**
 * Browser-borne attacks on an admin app that has no token because it is on loopback:
 * a web page may POST a form to 127.0.0.1 (CSRF), or point its own DNS name at 127.0.0.1
 * and read the answers (DNS rebinding). Refuse requests that name another host, and
 * state-changing requests whose Origin is another site. With a token set this still
 * applies; the SameSite cookie alone would not stop rebinding.
 */
export function browserGuards(app: FastifyInstance, options: { loopbackOnly: boolean }): void {
  app.addHook('onRequest', async (request, reply) => {
    if (options.loopbackOnly && !isLoopbackHost(hostName(request.headers.host))) {
      return reply.code(421).send({ error: { code: 'E_FORBIDDEN', message: `The admin app answers on loopback names only, not ${hostName(request.headers.host).slice(0, 100)}.` } });
    }
    if (request.method === 'GET' || request.method === 'HEAD' || request.method === 'OPTIONS') return;
    const origin = request.headers.origin;
    if (origin === undefined) return;
    let originHost: string;
    try {
      originHost = new URL(origin).host.toLowerCase();
    } catch {
      originHost = '';
    }
    if (originHost !== (request.headers.host ?? '').toLowerCase()) {
      return reply.code(403).send({ error: { code: 'E_FORBIDDEN', message: 'Cross-site requests may not change anything here.' } });
    }
  });
}

/**
 * Token auth for the admin app: `Authorization: Bearer <token>` (scripts), or a session
 * cookie opened by the login form or by opening any admin URL once with `?token=<token>`.
 * The cookie holds a random session id (sessions.ts), never the token. Without a configured
 * token (loopback only, see assertAdminBind) every request passes.
 */
export function adminAuth(app: FastifyInstance, token: string | undefined, sessions: AdminSessions = new MemoryAdminSessions()): void {
  if (!token) return;

  app.get<{ Querystring: { next?: string } }>('/login', async (request, reply) =>
    reply.type('text/html; charset=utf-8').send(loginPage(safeNext(request.query.next))),
  );
  app.post<{ Body: { token?: string; next?: string } }>('/login', async (request, reply) => {
    const given = typeof request.body?.token === 'string' ? request.body.token : undefined;
    if (!tokenMatches(given, token)) {
      return reply.code(401).type('text/html; charset=utf-8').send(loginPage(safeNext(request.body?.next), 'That token is not right.'));
    }
    setCookie(reply, await sessions.open(), viaHttps(request));
    return reply.redirect(safeNext(request.body?.next), 303);
  });
  app.post('/logout', async (request, reply) => {
    const id = cookieValue(request.headers.cookie, ADMIN_COOKIE);
    if (id) await sessions.close(id);
    clearCookie(reply);
    return reply.redirect('/login', 303);
  });

  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?')[0]!;
    if (OPEN_PATHS.has(path)) return;
    const query = request.query as Record<string, unknown> | undefined;
    const fromQuery = typeof query?.token === 'string' ? query.token : undefined;
    if (fromQuery !== undefined && tokenMatches(fromQuery, token)) {
      // Trade the token in the URL for a session at once, so it leaves the address bar and history.
      setCookie(reply, await sessions.open(), viaHttps(request));
      const url = new URL(request.url, 'http://admin');
      url.searchParams.delete('token');
      return reply.redirect(url.pathname + url.search, 303);
    }
    if (tokenMatches(bearer(request), token)) return;
    const session = cookieValue(request.headers.cookie, ADMIN_COOKIE);
    if (session && (await sessions.valid(session))) return;
    reply.header('www-authenticate', 'Bearer realm="depesche-admin"');
    if (wantsHtml(request) && request.method === 'GET') {
      return reply.code(401).type('text/html; charset=utf-8').send(loginPage(safeNext(request.url)));
    }
    return reply.code(401).send({ error: { code: 'E_UNAUTHORIZED', message: 'This admin endpoint needs the admin token.', hint: 'Send `Authorization: Bearer <ADMIN_TOKEN>`.' } });
  });
}
