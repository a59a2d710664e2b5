/**
 * Depesche as a library: the pieces the CLI is built from, for embedding the pipeline
 * in other tooling. Everything else under src/ is internal.
 */

// Errors and configuration.
export { DepescheError, isDepescheError, type ErrorCode, type ErrorLocation } from './errors.ts';
export { loadConfig, requireSecret, keyspace, type Config, type Keyspace, type LoadConfigOptions } from './config/index.ts';

// The shared vocabulary: languages and the compiled edition.
export { LANGS, isLang, type Lang } from './core/lang.ts';
export type { Edition, Greeting } from './core/edition.ts';
export { EDITION_FALLBACKS, editionFor, planEditions, type EditionChoice, type EditionFallback, type EditionPlan } from './core/edition-fallback.ts';

// Compile: Markdown issues to editions.
export {
  createCompiler,
  fillSample,
  compileMerge,
  fillMerge,
  sampleMergeValues,
  type Compiler,
  type CompilerOptions,
  type CompiledEdition,
  type Finding,
  type IssueSummary,
  type MergeField,
  type MergeValues,
} from './render/index.ts';
export { loadTranslator, type Translator } from './i18n/index.ts';

// Subscribers and lists.
export { RedisSubscriberStore, type ListStats, type SubscriberRecord } from './subscribers/redis-store.ts';
export { importCsv, type ImportOptions, type ImportProgress, type ImportSummary, type Rejection } from './subscribers/import.ts';
export { exportCsv } from './subscribers/export.ts';
export { signToken, verifyToken, type TokenAction, type TokenClaims } from './subscribers/tokens.ts';
export { Subscriptions, type ConfirmationMailer, type MailOrigins, type SubscriptionsDeps } from './subscribers/subscriptions.ts';
export { TRANSITIONS, type TransitionName } from './subscribers/states.ts';
export type { Actor, ConsentEvent, Wording } from './subscribers/consent.ts';
export type { Subscriber, SubscriberStatus, SubscriberStore } from './subscribers/types.ts';

// Sending.
export { CampaignService, startWorker, QUEUE_NAMES, type CampaignStatus, type CreateCampaignOptions } from './campaign/index.ts';
export { createSmtpTransport } from './transport/smtp.ts';
export type { Transport, SentInfo } from './transport/types.ts';
export { classifySendError, classifySmtpAnswer, type AnswerClass, type AnswerKind } from './transport/smtp-answers.ts';

// What comes back: return path, parsers, receivers, webhooks.
export {
  ReturnAddresses,
  parseReturnMail,
  startInboundSmtp,
  ImapPoller,
  inboundWebhooks,
  INBOUND_WEBHOOK_ROUTES,
  type ReturnEvent,
  type ReturnSink,
  type SinkOutcome,
} from './inbound/index.ts';

// HTTP apps.
export { buildPublicApp, type PublicAppDeps } from './server/public/app.ts';
export type { ArchiveSource, ArchiveEntry, ArchivedEdition } from './server/public/archive.ts';
export { buildAdminApp, type AdminAppDeps } from './server/admin/app.ts';
export { previewPlugin } from './server/preview/plugin.ts';
export type { PreviewOptions } from './server/preview/types.ts';
export { startPreviewServer, type PreviewServerOptions } from './server/preview/server.ts';
