import { createHmac, timingSafeEqual } from 'node:crypto';
import { DepescheError } from '../errors.ts';

/**
 * Signed links for subscribers: `<payload>.<mac>`, both base64url. The payload names
 * the action and the subscriber, so a confirm token cannot unsubscribe and one
 * subscriber's token cannot touch another. Checked in constant time.
 */
export type TokenAction = 'confirm' | 'unsubscribe' | 'preferences';

export interface TokenClaims {
  act: TokenAction;
  /** Subscriber id. */
  sub: string;
  /** Expiry, seconds since the epoch; absent for links that must work for good (unsubscribe). */
  exp?: number;
  /** Campaign the link was sent with: names the list a one-click unsubscribe leaves. */
  cmp?: string;
  /**
   * Confirm links: the nonce of the request the link was made for. The link works only while
   * that request is the subscriber's pending one. Links mailed before requests had nonces lack it.
   */
  n?: string;
}

function mac(secret: string, payload: string): Buffer {
  return createHmac('sha256', secret).update(payload).digest();
}

export function signToken(claims: TokenClaims, secret: string): string {
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `${payload}.${mac(secret, payload).toString('base64url')}`;
}

const invalid = (message: string) =>
  new DepescheError('E_TOKEN', message, { hint: 'Use the link from your most recent email, or subscribe again.' });

/**
 * Returns the claims of a genuine, unexpired token for `action`; throws E_TOKEN otherwise.
 * Several secrets: the current one first, then earlier ones whose links still count.
 */
export function verifyToken(token: string, action: TokenAction, secret: string | readonly string[], now = Date.now()): TokenClaims {
  const [payload, signature, extra] = token.split('.');
  if (!payload || !signature || extra !== undefined || !/^[\w-]+$/.test(payload) || !/^[\w-]+$/.test(signature)) {
    throw invalid('This link is malformed.');
  }
  const given = Buffer.from(signature, 'base64url');
  const genuine = (typeof secret === 'string' ? [secret] : secret).some((s) => {
    const expected = mac(s, payload);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!genuine) throw invalid('This link is not valid.');
  let claims: TokenClaims;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as TokenClaims;
  } catch {
    throw invalid('This link is not valid.');
  }
  if (!claims || typeof claims !== 'object' || claims.act !== action || typeof claims.sub !== 'string') throw invalid('This link is not meant for this page.');
  if (claims.n !== undefined && typeof claims.n !== 'string') throw invalid('This link is not valid.');
  if (claims.cmp !== undefined && typeof claims.cmp !== 'string') throw invalid('This link is not valid.');
  if (claims.exp !== undefined && typeof claims.exp !== 'number') throw invalid('This link is not valid.');
  if (claims.exp !== undefined && claims.exp * 1000 < now) throw invalid('This link has expired.');
  return claims;
}
