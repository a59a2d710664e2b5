// The return path: what comes back after a send (bounces, complaints, mailto unsubscribes),
// read from SMTP, an IMAP mailbox or provider webhooks, and handed to a ReturnSink.
export type {
  ActionableEvent,
  BounceEvent,
  ComplaintEvent,
  IgnoredEvent,
  MessageIdResolver,
  Quarantine,
  ReaderRef,
  RejectionEvent,
  ReturnEvent,
  ReturnSink,
  ReturnSource,
  SeenTokens,
  SinkOutcome,
  UnparseableEvent,
  UnsubscribeEvent,
} from './types.ts';
export { decodeVerpToken, encodeVerpToken, verpIdBudget, verpTokenLength, VERP_MAC_BITS, type VerpClaims, type VerpPurpose } from './verp.ts';
export { BOUNCE_PREFIX, REPORT_MAILBOXES, ReturnAddresses, returnAddressSettings, type RecognizedAddress, type ReturnAddressSettings } from './return-addresses.ts';
export { parseReturnMail, type ParseContext } from './parse/index.ts';
export { applyEvent, applyEvents, eventFields, isActionable } from './apply.ts';
export { softBounceVerdict, type SoftBounceRule, type SoftBounceVerdict } from './soft-bounces.ts';
export { MemoryReturnSink, type MemoryReader, type MemorySinkOptions } from './memory-sink.ts';
export { DirectoryQuarantine } from './quarantine.ts';
export { startInboundSmtp, type InboundSmtp, type InboundSmtpOptions } from './smtp-listener.ts';
export { ImapPoller, imapTarget, type ImapPollerOptions, type PollResult } from './imap-poller.ts';
export { INBOUND_WEBHOOK_ROUTES, inboundWebhooks, webhookOptionsFromConfig, type InboundWebhookOptions } from './webhooks/plugin.ts';
export { HttpsCertificateSource, type CertificateSource } from './webhooks/sns.ts';
export { MemorySeenTokens, RedisSeenTokens } from './webhooks/seen-tokens.ts';
export { METADATA_CAMPAIGN, METADATA_SUBSCRIBER } from './webhooks/metadata.ts';
