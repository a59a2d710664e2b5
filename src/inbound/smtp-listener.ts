import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import { answerReason } from '../transport/smtp-answers.ts';
import type { Logger } from '../log.ts';
import { applyEvents } from './apply.ts';
import { parseReturnMail } from './parse/index.ts';
import { addressForLog, type ReturnAddresses } from './return-addresses.ts';
import type { MessageIdResolver, Quarantine, ReturnSink } from './types.ts';

/**
 * The SMTP side of `depesche inbound`: the MX (or the relay target) of the return-path
 * domain and of the unsubscribe mailto's domain.
 *
 * It accepts a recipient only if it is one of ours, and a token only if it is genuine,
 * at RCPT time, before a byte of the message is read: strangers cannot use it as a relay,
 * and a forged token costs the forger a refusal, never a reader. One recipient per
 * transaction (RFC 5321 lets a server say 452 to the rest, and the client sends them
 * again): a message then means one thing for one reader.
 *
 * Whatever the message holds, the answer is 250 once it is parsed and applied, or kept if
 * it cannot be read. Only a failure to record it (the sink or the quarantine down) gives
 * 451, so the sending server tries again later and nothing is lost.
 */

export interface InboundSmtpOptions {
  host: string;
  port: number;
  addresses: ReturnAddresses;
  sink: ReturnSink;
  quarantine: Quarantine;
  logger: Logger;
  resolveMessageId?: MessageIdResolver;
  /** Largest message accepted, bytes. */
  maxBytes: number;
  /** STARTTLS certificate; without it STARTTLS is not offered. */
  tls?: { key: Buffer; cert: Buffer };
  /** Name in the greeting; defaults to the host name. */
  name?: string;
}

export interface InboundSmtp {
  /** The port it listens on (useful when asked for port 0). */
  port: number;
  close(): Promise<void>;
}

const refusal = (code: number, message: string) => Object.assign(new Error(message), { responseCode: code });

// Refused recipients per connection before the client is sent away: a forger gets a few tries, not a million.
const MAX_REFUSALS = 10;

export async function startInboundSmtp(options: InboundSmtpOptions): Promise<InboundSmtp> {
  const { addresses, logger } = options;
  const refusals = new WeakMap<SMTPServerSession, number>();

  const refuse = (session: SMTPServerSession, code: number, message: string, log: Record<string, unknown>) => {
    const count = (refusals.get(session) ?? 0) + 1;
    refusals.set(session, count);
    logger.warn({ remote: session.remoteAddress, ...log }, `inbound SMTP: refused a recipient (${message})`);
    return count >= MAX_REFUSALS ? refusal(421, '4.7.0 Too many refused recipients, closing connection') : refusal(code, message);
  };

  const server = new SMTPServer({
    ...(options.name ? { name: options.name } : {}),
    banner: 'Depesche return path',
    authOptional: true,
    disabledCommands: options.tls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
    ...(options.tls ? { key: options.tls.key, cert: options.tls.cert } : {}),
    size: options.maxBytes,
    logger: false,
    maxClients: 100,
    socketTimeout: 60_000,
    onRcptTo(address, session, callback) {
      if (session.envelope.rcptTo.length >= 1) {
        callback(refusal(452, '4.5.3 One recipient per message, please send the others separately'));
        return;
      }
      const recognized = addresses.recognize(address.address);
      if (!recognized) {
        const domain = address.address.split('@').pop()?.toLowerCase() ?? '';
        callback(
          addresses.domains.includes(domain)
            ? refuse(session, 550, '5.1.1 No such recipient here', { rcpt: addressForLog(address.address) })
            : refuse(session, 550, '5.7.1 Relaying denied', { rcpt: addressForLog(address.address) }),
        );
        return;
      }
      if (recognized.kind === 'forged') {
        callback(refuse(session, 550, '5.7.1 Return-path token not valid', { rcpt: addressForLog(address.address), reason: recognized.reason }));
        return;
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', (error) => callback(error));
      stream.on('end', () => {
        if ((stream as { sizeExceeded?: boolean }).sizeExceeded) {
          callback(refusal(552, `5.3.4 Message larger than ${options.maxBytes} bytes`));
          return;
        }
        const raw = Buffer.concat(chunks);
        const envelope = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
        };
        void receive(raw, envelope, session.remoteAddress).then(
          () => callback(),
          (error: unknown) => {
            logger.error({ err: error, remote: session.remoteAddress, to: envelope.to.map(addressForLog) }, 'inbound SMTP: could not record a message; asked the sender to try again');
            callback(refusal(451, '4.3.0 Temporary local problem, please try again later'));
          },
        );
      });
    },
  });

  async function receive(raw: Buffer, envelope: { from: string; to: string[] }, remote: string): Promise<void> {
    const events = await parseReturnMail(raw, {
      source: 'smtp',
      addresses,
      envelope,
      ...(options.resolveMessageId ? { resolveMessageId: options.resolveMessageId } : {}),
    });
    const { unparseable, unmatched } = await applyEvents(events, options.sink, logger.child({ remote, to: envelope.to.map(addressForLog) }));
    if (unparseable) {
      const where = await options.quarantine.keep(raw, { reason: unparseable, source: 'smtp', envelope });
      logger.warn({ remote, from: envelope.from, to: envelope.to.map(addressForLog), reason: answerReason(unparseable), kept: where }, 'inbound SMTP: kept a message it could not read');
    } else if (unmatched) {
      const where = await options.quarantine.keep(raw, { reason: `unmatched: ${unmatched}`, source: 'smtp', envelope });
      logger.warn({ remote, from: envelope.from, to: envelope.to.map(addressForLog), reason: unmatched, kept: where }, 'inbound SMTP: kept an unmatched report; no reader changed');
    }
  }

  server.on('error', (error) => logger.error({ err: error }, 'inbound SMTP server error'));
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.server.once('error', onError);
    server.listen(options.port, options.host, () => {
      server.server.off('error', onError);
      resolve();
    });
  });
  const bound = server.server.address();
  return {
    port: typeof bound === 'object' && bound ? bound.port : options.port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
