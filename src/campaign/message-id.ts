/**
 * The Message-ID of a campaign mail: `<campaign.subscriber.run@MAIL_FROM domain>`. The run
 * makes each attempt unique (a deliberate resend is a new message); campaign and subscriber
 * let a bounce report that quotes only the original Message-ID (no VERP return path) name
 * its reader. Characters outside `[A-Za-z0-9-]` become `_`; campaign and subscriber ids
 * never hold them (base36 and base32, or decimal for old subscribers).
 */

const unsafe = /[^A-Za-z0-9-]/g;

export function campaignMessageId(campaignId: string, subscriberId: string, run: string, domain: string): string {
  return `<${campaignId.replace(unsafe, '_')}.${subscriberId.replace(unsafe, '_')}.${run.replace(unsafe, '_')}@${domain}>`;
}

/** Campaign and subscriber of one of our Message-IDs (with or without angle brackets); null when it has another shape. */
export function messageIdClaims(messageId: string): { campaignId: string; subscriberId: string } | null {
  const match = /^<?([A-Za-z0-9]{1,31})\.([A-Za-z0-9-]{1,64})\.([A-Za-z0-9_-]{1,64})@[^<>@\s]+>?$/.exec(messageId.trim());
  return match ? { campaignId: match[1]!, subscriberId: match[2]! } : null;
}
