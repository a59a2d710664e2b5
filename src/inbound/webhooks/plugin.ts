import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../config/schema.ts';
import { isDepescheError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { applyEvents } from '../apply.ts';
import type { ReturnAddresses } from '../return-addresses.ts';
import type { MessageIdResolver, ReturnEvent, ReturnSink, SeenTokens } from '../types.ts';
import { mailgunEvents, mailgunSignatureOf, mailgunSignatureValid } from './mailgun.ts';
import { basicAuthMatches, postmarkEvents } from './postmark.ts';
import { sesEvents } from './ses.ts';
import { asSnsMessage, fetchHttpsText, HttpsCertificateSource, isSnsUrl, verifySnsMessage, type CertificateSource } from './sns.ts';

/**
 * Provider webhooks for what comes back, as one fastify plugin the public app mounts. Each
 * route authenticates its provider first, then turns the payload into return events for
 * the sink. A provider retries what is not answered 2xx, so:
 * - a forged, stale or replayed request gets 401/403 (never retried into success);
 * - a genuine one the sink cannot record yet gets 503, and the retry is applied once;
 * - a genuine one Depesche does not act on (deliveries, opens) gets 200.
 * Only providers with settings get a route; the others answer 404 like any unknown path.
 */

export const INBOUND_WEBHOOK_ROUTES = {
  ses: '/webhooks/ses',
  postmark: '/webhooks/postmark',
  mailgun: '/webhooks/mailgun',
} as const;

export interface InboundWebhookOptions {
  sink: ReturnSink;
  addresses: ReturnAddresses;
  resolveMessageId?: MessageIdResolver;
  /** Defaults to the app's logger. */
  logger?: Logger;
  ses?: {
    topicArns: readonly string[];
    certificates: CertificateSource;
    /** Seen SNS MessageIds: SNS may deliver a message twice, and a replay within the age limit is caught. */
    seen: SeenTokens;
    /** Confirms a subscription by visiting its SubscribeURL (already checked to be an SNS URL). */
    confirm?: (subscribeUrl: string) => Promise<void>;
    /** Oldest notification accepted; default 1 hour (SNS's retries for an endpoint that was down end well before). */
    maxAgeMs?: number;
  };
  postmark?: {
    user: string;
    password: string;
    /** Refuse plain http (default). Behind a TLS proxy, set TRUST_PROXY so the app sees https. */
    requireHttps?: boolean;
  };
  mailgun?: {
    signingKey: string;
    seen: SeenTokens;
    /** How far a request's timestamp may be from now; default 5 minutes. */
    maxSkewMs?: number;
  };
}

const SNS_MAX_AGE_MS = 60 * 60_000;
const MAILGUN_SKEW_MS = 5 * 60_000;

function parseJson(body: unknown): unknown {
  if (typeof body !== 'string') return body;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

export function inboundWebhooks(options: InboundWebhookOptions): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    const context = { addresses: options.addresses, resolveMessageId: options.resolveMessageId };
    const logger = (request: FastifyRequest) => options.logger ?? (request.log as unknown as Logger);

    /** Applies the events; 503 when the sink cannot record them, so the provider retries. */
    async function deliver(request: FastifyRequest, reply: FastifyReply, events: ReturnEvent[], onFailure?: () => Promise<void>) {
      try {
        const { unparseable } = await applyEvents(events, options.sink, logger(request));
        if (unparseable) logger(request).warn({ reason: unparseable, route: request.url }, 'webhook payload not understood; answered 200 so the provider does not retry it forever');
        return reply.code(200).send({ ok: true });
      } catch (error) {
        await onFailure?.();
        logger(request).error({ err: error, route: request.url }, 'webhook: could not record; the provider will retry');
        return reply.code(503).header('retry-after', '60').send({ error: 'temporarily unavailable' });
      }
    }

    const refuse = (request: FastifyRequest, reply: FastifyReply, code: 401 | 403 | 400, why: string) => {
      logger(request).warn({ route: request.url, ip: request.ip, why }, 'webhook refused');
      return reply.code(code).send({ error: why });
    };

    if (options.ses) {
      const ses = options.ses;
      app.post(INBOUND_WEBHOOK_ROUTES.ses, async (request, reply) => {
        let message;
        try {
          message = asSnsMessage(parseJson(request.body));
          await verifySnsMessage(message, { topicArns: ses.topicArns, certificates: ses.certificates, maxAgeMs: ses.maxAgeMs ?? SNS_MAX_AGE_MS });
        } catch (error) {
          if (isDepescheError(error) && error.code === 'E_TOKEN') return refuse(request, reply, 403, error.message);
          // The certificate could not be fetched: not the sender's fault; SNS retries.
          logger(request).error({ err: error }, 'SNS: could not check a signature');
          return reply.code(503).send({ error: 'cannot verify now' });
        }
        if (message.Type === 'SubscriptionConfirmation') {
          if (!message.SubscribeURL || !isSnsUrl(message.SubscribeURL)) return refuse(request, reply, 403, 'SubscribeURL is not an Amazon SNS URL');
          try {
            await (ses.confirm ?? ((url: string) => fetchHttpsText(url).then(() => undefined)))(message.SubscribeURL);
          } catch (error) {
            logger(request).error({ err: error, topic: message.TopicArn }, 'SNS: could not confirm the subscription; SNS will send the confirmation again');
            return reply.code(503).send({ error: 'cannot confirm now' });
          }
          logger(request).info({ topic: message.TopicArn }, 'SNS subscription confirmed');
          return reply.code(200).send({ ok: true });
        }
        if (message.Type === 'UnsubscribeConfirmation') {
          logger(request).warn({ topic: message.TopicArn }, 'SNS says this endpoint was unsubscribed from the topic; SES notifications stop');
          return reply.code(200).send({ ok: true });
        }
        const seenKey = `sns:${message.MessageId}`;
        if (!(await ses.seen.claim(seenKey, ses.maxAgeMs ?? SNS_MAX_AGE_MS))) {
          logger(request).info({ messageId: message.MessageId }, 'SNS message seen before; not applied again');
          return reply.code(200).send({ ok: true, duplicate: true });
        }
        return deliver(request, reply, await sesEvents(message.Message, message.MessageId, context), () => ses.seen.release(seenKey));
      });
    }

    if (options.postmark) {
      const postmark = options.postmark;
      app.post(INBOUND_WEBHOOK_ROUTES.postmark, async (request, reply) => {
        if ((postmark.requireHttps ?? true) && request.protocol !== 'https') {
          return refuse(request, reply, 403, 'Postmark webhooks carry a password and are accepted over https only');
        }
        if (!basicAuthMatches(request.headers.authorization, postmark.user, postmark.password)) {
          reply.header('www-authenticate', 'Basic realm="depesche-webhooks"');
          return refuse(request, reply, 401, 'wrong or missing credentials');
        }
        return deliver(request, reply, await postmarkEvents(parseJson(request.body), context));
      });
    }

    if (options.mailgun) {
      const mailgun = options.mailgun;
      app.post(INBOUND_WEBHOOK_ROUTES.mailgun, async (request, reply) => {
        const body = parseJson(request.body);
        const signature = mailgunSignatureOf(body);
        if (!signature || !mailgunSignatureValid(signature, mailgun.signingKey)) return refuse(request, reply, 403, 'signature does not match');
        const skew = Math.abs(Date.now() - Number(signature.timestamp) * 1000);
        if (!(skew <= (mailgun.maxSkewMs ?? MAILGUN_SKEW_MS))) return refuse(request, reply, 403, 'timestamp too far from now: a replay?');
        const seenKey = `mailgun:${signature.token}`;
        if (!(await mailgun.seen.claim(seenKey, 2 * (mailgun.maxSkewMs ?? MAILGUN_SKEW_MS)))) return refuse(request, reply, 403, 'token seen before: a replay');
        return deliver(request, reply, await mailgunEvents(body, context), () => mailgun.seen.release(seenKey));
      });
    }
  };
}

/**
 * The webhook options from the resolved config: a provider gets its route when its
 * settings are there. The composition root supplies sink, addresses and the seen-token store.
 */
export function webhookOptionsFromConfig(
  config: Pick<Config, 'SES_SNS_TOPIC_ARNS' | 'POSTMARK_WEBHOOK_USER' | 'POSTMARK_WEBHOOK_PASSWORD' | 'MAILGUN_WEBHOOK_SIGNING_KEY'>,
  deps: { sink: ReturnSink; addresses: ReturnAddresses; seen: SeenTokens; resolveMessageId?: MessageIdResolver; certificates?: CertificateSource },
): InboundWebhookOptions {
  const topics = config.SES_SNS_TOPIC_ARNS.split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  return {
    sink: deps.sink,
    addresses: deps.addresses,
    ...(deps.resolveMessageId ? { resolveMessageId: deps.resolveMessageId } : {}),
    ...(topics.length > 0 ? { ses: { topicArns: topics, certificates: deps.certificates ?? new HttpsCertificateSource(), seen: deps.seen } } : {}),
    ...(config.POSTMARK_WEBHOOK_USER && config.POSTMARK_WEBHOOK_PASSWORD
      ? { postmark: { user: config.POSTMARK_WEBHOOK_USER, password: config.POSTMARK_WEBHOOK_PASSWORD } }
      : {}),
    ...(config.MAILGUN_WEBHOOK_SIGNING_KEY ? { mailgun: { signingKey: config.MAILGUN_WEBHOOK_SIGNING_KEY, seen: deps.seen } } : {}),
  };
}
