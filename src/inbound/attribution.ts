import { DepescheError } from '../errors.ts';
import { addressesIn, field, type Fields } from './parse/fields.ts';
import type { ReturnAddresses } from './return-addresses.ts';
import type { MessageIdResolver, ReaderRef } from './types.ts';
import type { VerpClaims } from './verp.ts';

export interface AttributionInput {
  addresses: ReturnAddresses;
  resolveMessageId?: MessageIdResolver | undefined;
  /** Tokens already verified where the report arrived (envelope, delivery headers). */
  tokens?: VerpClaims[];
  /** Header of the original message, as far as the report carries it. */
  original?: Fields | undefined;
  /** The reader's address as the report names it. */
  email?: string | undefined;
  /**
   * False when one report names several readers: a token names one reader, so it cannot
   * stand for all of them, and only its campaign is used.
   */
  single?: boolean;
}

/**
 * Who a report is about. A signed token wins: where the report arrived, then in the
 * original's Return-Path or List-Unsubscribe. Then the original Message-ID, resolved by the
 * campaign side. Last, the address alone (with the campaign header of the original, if any).
 */
export async function attributeReader(input: AttributionInput): Promise<ReaderRef> {
  const { addresses, resolveMessageId, original, email } = input;
  const single = input.single ?? true;
  const messageId = field(original, 'message-id')?.match(/<[^>]+>/)?.[0];
  const base = { ...(email ? { email: email.toLowerCase() } : {}), ...(messageId ? { messageId } : {}) };
  const tokens = [...(input.tokens ?? [])];
  for (const address of [...addressesIn(field(original, 'return-path')), ...addressesIn(field(original, 'list-unsubscribe'))]) {
    const found = addresses.recognize(address);
    if (found && (found.kind === 'bounce' || found.kind === 'unsubscribe')) tokens.push(found.claims);
  }
  const token = tokens[0];
  if (token && single) return { ...base, campaignId: token.campaignId, subscriberId: token.subscriberId, by: 'verp' };
  if (messageId && resolveMessageId && single) {
    let resolved;
    try {
      resolved = await resolveMessageId(messageId);
    } catch (cause) {
      // Storage trouble, not a bad report: the receiver answers with a temporary failure and the report comes again.
      throw new DepescheError('E_REDIS', `Could not look up the original Message-ID ${messageId}.`, { cause });
    }
    if (resolved) return { ...base, ...resolved, by: 'message-id' };
  }
  const campaignId = token?.campaignId ?? field(original, 'x-depesche-campaign')?.trim();
  return { ...base, ...(campaignId ? { campaignId } : {}), by: email ? 'address' : 'none' };
}
