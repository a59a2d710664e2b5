import { attributeReader } from '../attribution.ts';
import type { ReaderRef } from '../types.ts';
import type { WebhookContext } from './ses.ts';

/**
 * Campaign and subscriber as a sending provider hands back the values we set on a message
 * (Postmark `Metadata` from `X-PM-Metadata-*` headers, Mailgun `user-variables` from
 * `X-Mailgun-Variables`). The webhook carrying them is authenticated, so they are trusted
 * like the rest of its payload. Without them, the original Message-ID or the address.
 */
export const METADATA_CAMPAIGN = 'depesche-campaign';
export const METADATA_SUBSCRIBER = 'depesche-subscriber';

export async function readerFromMetadata(
  metadata: Record<string, unknown> | undefined,
  email: string | undefined,
  messageId: string | undefined,
  context: WebhookContext,
): Promise<ReaderRef> {
  const campaignId = typeof metadata?.[METADATA_CAMPAIGN] === 'string' ? metadata[METADATA_CAMPAIGN] : undefined;
  const subscriberId = typeof metadata?.[METADATA_SUBSCRIBER] === 'string' ? metadata[METADATA_SUBSCRIBER] : undefined;
  const id = messageId ? (messageId.startsWith('<') ? messageId : `<${messageId}>`) : undefined;
  if (campaignId && subscriberId) {
    return { campaignId, subscriberId, ...(email ? { email: email.toLowerCase() } : {}), ...(id ? { messageId: id } : {}), by: 'metadata' };
  }
  const original = new Map<string, string[]>();
  if (id) original.set('message-id', [id]);
  if (campaignId) original.set('x-depesche-campaign', [campaignId]);
  return attributeReader({ ...context, original, email });
}
