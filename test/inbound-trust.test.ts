import { describe, expect, it } from 'vitest';
import { ledgerMessageIdResolver } from '../src/inbound/redis-sink.ts';
import { unmatchedReason } from '../src/inbound/trust.ts';
import type { BounceEvent, UnsubscribeEvent } from '../src/inbound/types.ts';

const bounce = (source: BounceEvent['source'], by: BounceEvent['reader']['by']): BounceEvent => ({
  kind: 'bounce', key: 'k', source, at: new Date().toISOString(), reader: { email: 'a@example.net', by }, severity: 'hard', reason: '5.1.1', rule: 'x',
});

describe('which reports may change a reader', () => {
  it('from mail, only a token or our Message-ID; a provider webhook also by address', () => {
    for (const source of ['smtp', 'imap'] as const) {
      expect(unmatchedReason(bounce(source, 'verp'))).toBeUndefined();
      expect(unmatchedReason(bounce(source, 'message-id'))).toBeUndefined();
      expect(unmatchedReason(bounce(source, 'address'))).toMatch(/only by address/);
      expect(unmatchedReason(bounce(source, 'none'))).toMatch(/only by address/);
      // `sender` vouches for an unsubscribe request, never for a bounce.
      expect(unmatchedReason(bounce(source, 'sender'))).toMatch(/only by address/);
    }
    for (const source of ['ses', 'postmark', 'mailgun', 'send'] as const) expect(unmatchedReason(bounce(source, 'address'))).toBeUndefined();
  });

  it('a token-less unsubscribe acts for its sender only when envelope and From agree', () => {
    const unsubscribe = (by: UnsubscribeEvent['reader']['by']): UnsubscribeEvent => ({ kind: 'unsubscribe', key: 'k', source: 'smtp', at: '', reader: { email: 'a@example.net', by }, legacy: true });
    expect(unmatchedReason(unsubscribe('sender'))).toBeUndefined();
    expect(unmatchedReason(unsubscribe('address'))).toMatch(/envelope sender/);
  });

  it('a Message-ID with a guessable (decimal) subscriber id names nobody, even with a ledger entry', async () => {
    const resolve = ledgerMessageIdResolver({ stateOf: async () => 'sent' });
    expect(await resolve('<c1a2b3.17.r1@example.org>')).toBeNull();
    expect(await resolve('<c1a2b3.abcdefghij23.r1@example.org>')).toEqual({ campaignId: 'c1a2b3', subscriberId: 'abcdefghij23' });
    expect(await ledgerMessageIdResolver({ stateOf: async () => null })('<c1a2b3.abcdefghij23.r1@example.org>')).toBeNull();
  });
});
