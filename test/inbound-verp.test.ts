import { describe, expect, it } from 'vitest';
import { DepescheError } from '../src/errors.ts';
import { ReturnAddresses, returnAddressSettings } from '../src/inbound/return-addresses.ts';
import { decodeVerpToken, encodeVerpToken, verpIdBudget, verpTokenLength, VERP_MAC_BITS } from '../src/inbound/verp.ts';

const SECRET = 'a'.repeat(32) + '-verp-test-secret';
const OTHER = 'b'.repeat(32) + '-another-secret';
// Today's campaign id shape and a random 16-character subscriber id (base64url, as issue 11 may make them).
const claims = { campaignId: 'cmfz3k2x9a1b2c3', subscriberId: 'Zq8_kP-3xY0aB9cD' };

function tokenError(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(DepescheError);
    expect((error as DepescheError).code).toBe('E_TOKEN');
    return (error as DepescheError).message;
  }
  throw new Error('expected E_TOKEN');
}

describe('VERP token', () => {
  it('round-trips campaign and subscriber ids, including opaque ones', () => {
    for (const c of [claims, { campaignId: 'c1', subscriberId: '42' }, { campaignId: 'x'.repeat(31), subscriberId: 'A' }]) {
      const token = encodeVerpToken(c, 'bounce', SECRET);
      expect(token).toMatch(/^[a-z2-7]+$/);
      expect(token).toHaveLength(verpTokenLength(c));
      expect(decodeVerpToken(token, 'bounce', SECRET)).toEqual(c);
    }
  });

  it('survives case-folding by a mail system', () => {
    const token = encodeVerpToken(claims, 'bounce', SECRET);
    expect(decodeVerpToken(token.toUpperCase(), 'bounce', SECRET)).toEqual(claims);
    const mixed = [...token].map((ch, i) => (i % 2 ? ch.toUpperCase() : ch)).join('');
    expect(decodeVerpToken(mixed, 'bounce', SECRET)).toEqual(claims);
  });

  it('shows no readable id', () => {
    const token = encodeVerpToken({ campaignId: 'c1', subscriberId: '12345' }, 'bounce', SECRET);
    expect(token).not.toContain('12345');
  });

  it('refuses every single-character change', () => {
    const token = encodeVerpToken(claims, 'bounce', SECRET);
    const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
    let refused = 0;
    for (let i = 0; i < token.length; i++) {
      const other = alphabet[(alphabet.indexOf(token[i]!) + 7) % 32]!;
      tokenError(() => decodeVerpToken(token.slice(0, i) + other + token.slice(i + 1), 'bounce', SECRET));
      refused++;
    }
    expect(refused).toBe(token.length);
  });

  it('refuses a token signed with another secret, and accepts it while that secret is still listed', () => {
    const token = encodeVerpToken(claims, 'bounce', OTHER);
    expect(tokenError(() => decodeVerpToken(token, 'bounce', SECRET))).toMatch(/not genuine/);
    expect(decodeVerpToken(token, 'bounce', [SECRET, OTHER])).toEqual(claims);
  });

  it('binds the purpose: a return-path token does not unsubscribe', () => {
    const token = encodeVerpToken(claims, 'bounce', SECRET);
    expect(tokenError(() => decodeVerpToken(token, 'unsubscribe', SECRET))).toMatch(/not genuine/);
  });

  it('refuses truncated, extended, foreign and empty tokens', () => {
    const token = encodeVerpToken(claims, 'bounce', SECRET);
    tokenError(() => decodeVerpToken(token.slice(0, -1), 'bounce', SECRET));
    tokenError(() => decodeVerpToken(`${token}a`, 'bounce', SECRET));
    tokenError(() => decodeVerpToken(`${token}aa`, 'bounce', SECRET));
    tokenError(() => decodeVerpToken(token.replace(/[a-z]/, '1'), 'bounce', SECRET));
    tokenError(() => decodeVerpToken('', 'bounce', SECRET));
    tokenError(() => decodeVerpToken('b-'.repeat(20), 'bounce', SECRET));
  });

  it('refuses ids it cannot carry, naming the problem', () => {
    expect(() => encodeVerpToken({ campaignId: 'c.1', subscriberId: '1' }, 'bounce', SECRET)).toThrow(/campaign id/);
    expect(() => encodeVerpToken({ campaignId: 'c1', subscriberId: '' }, 'bounce', SECRET)).toThrow(/subscriber id/);
    try {
      encodeVerpToken({ campaignId: 'c'.repeat(32), subscriberId: '1' }, 'bounce', SECRET);
      expect.unreachable();
    } catch (error) {
      expect((error as DepescheError).hint).toMatch(/1–31 characters/);
    }
  });

  it('keeps a 64-bit MAC and says how many id characters fit each prefix', () => {
    expect(VERP_MAC_BITS).toBe(64);
    expect(verpIdBudget('unsubscribe+')).toBe(31);
    expect(verpIdBudget('b-')).toBe(39);
    expect(`unsubscribe+${encodeVerpToken(claims, 'unsubscribe', SECRET)}`.length).toBeLessThanOrEqual(64);
  });
});

describe('return addresses', () => {
  const addresses = new ReturnAddresses(
    returnAddressSettings({ RETURN_PATH_DOMAIN: 'bounces.example.org', UNSUBSCRIBE_MAILTO: undefined, MAIL_FROM: 'Briefing <briefing@Example.org>' }, [SECRET]),
  );

  it('builds addresses within 64 characters of local part', () => {
    const bounce = addresses.bounceAddress(claims)!;
    const unsubscribe = addresses.unsubscribeAddress(claims);
    expect(bounce).toMatch(/^b-[a-z2-7]+@bounces\.example\.org$/);
    expect(unsubscribe).toMatch(/^unsubscribe\+[a-z2-7]+@example\.org$/);
    for (const a of [bounce, unsubscribe]) expect(a.split('@')[0]!.length).toBeLessThanOrEqual(64);
    expect(addresses.domains).toEqual(['bounces.example.org', 'example.org']);
  });

  it('recognizes its own addresses in any case', () => {
    expect(addresses.recognize(addresses.bounceAddress(claims)!.toUpperCase())).toEqual({ kind: 'bounce', claims });
    expect(addresses.recognize(addresses.unsubscribeAddress(claims))).toEqual({ kind: 'unsubscribe', claims });
    expect(addresses.recognize('Unsubscribe@EXAMPLE.org')).toEqual({ kind: 'unsubscribe-legacy' });
    expect(addresses.recognize('postmaster@bounces.example.org')).toEqual({ kind: 'report', mailbox: 'postmaster' });
    expect(addresses.recognize('fbl@bounces.example.org')).toEqual({ kind: 'report', mailbox: 'fbl' });
  });

  it('tells a forged token from a stranger', () => {
    const bounce = addresses.bounceAddress(claims)!;
    const forged = bounce.replace(/^b-(.)/, (_m, c: string) => `b-${c === 'a' ? 'b' : 'a'}`);
    expect(addresses.recognize(forged)).toMatchObject({ kind: 'forged' });
    // The unsubscribe token is not a return-path token, even with the right prefix.
    const token = addresses.unsubscribeAddress(claims).split('+')[1]!.split('@')[0]!;
    expect(addresses.recognize(`b-${token}@bounces.example.org`)).toMatchObject({ kind: 'forged' });
    expect(addresses.recognize('someone@bounces.example.org')).toBeNull();
    expect(addresses.recognize('unsubscribe@elsewhere.example')).toBeNull();
    expect(addresses.recognize(`b-${token}@example.com`)).toBeNull();
    expect(addresses.recognize('not an address')).toBeNull();
  });

  it('refuses an unsubscribe address whose local part would be too long', () => {
    const long = new ReturnAddresses(
      returnAddressSettings({ RETURN_PATH_DOMAIN: undefined, UNSUBSCRIBE_MAILTO: 'newsletter-unsubscribe-requests@example.org', MAIL_FROM: 'x@example.org' }, [SECRET]),
    );
    expect(() => long.unsubscribeAddress(claims)).toThrow(/local part/);
    expect(long.bounceAddress(claims)).toBeUndefined();
  });
});

describe('addresses in logs', () => {
  it('keep only the start of a token', async () => {
    const { addressForLog } = await import('../src/inbound/return-addresses.ts');
    const addresses = new ReturnAddresses(
      returnAddressSettings({ RETURN_PATH_DOMAIN: 'bounces.example.org', UNSUBSCRIBE_MAILTO: undefined, MAIL_FROM: 'x@example.org' }, [SECRET]),
    );
    const bounce = addresses.bounceAddress(claims)!;
    const unsubscribe = addresses.unsubscribeAddress(claims);
    expect(addressForLog(bounce)).toBe(`${bounce.slice(0, 8)}…@bounces.example.org`);
    expect(addressForLog(unsubscribe)).toBe(`${unsubscribe.slice(0, 18)}…@example.org`);
    expect(addressForLog('postmaster@bounces.example.org')).toBe('postmaster@bounces.example.org');
  });
});
