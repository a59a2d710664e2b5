import { createVerify, X509Certificate } from 'node:crypto';
import { get as httpsGet } from 'node:https';
import { DepescheError } from '../../errors.ts';

/**
 * Amazon SNS HTTP(S) notifications, as Amazon SES publishes bounces and complaints to them.
 *
 * A message is genuine when its signature verifies with the certificate at SigningCertURL,
 * and that URL is an https URL on an SNS host (`sns.<region>.amazonaws.com`) ending in
 * `.pem`: anything else could point the check at a certificate of the forger's choosing.
 * SignatureVersion 1 signs with SHA1withRSA, 2 with SHA256withRSA, over the fields below in
 * this order, each as `Name\nvalue\n`.
 *
 * A genuine message only proves that SNS sent it. Anyone can create a topic, so the
 * TopicArn must also be one of ours (SES_SNS_TOPIC_ARNS).
 */

export interface SnsMessage {
  Type: 'Notification' | 'SubscriptionConfirmation' | 'UnsubscribeConfirmation';
  MessageId: string;
  TopicArn: string;
  Message: string;
  Timestamp: string;
  SignatureVersion: string;
  Signature: string;
  SigningCertURL: string;
  Subject?: string;
  SubscribeURL?: string;
  Token?: string;
}

/** Where certificates come from: the network in production, a test's own CA in tests. */
export interface CertificateSource {
  /** The PEM text at `url` (already checked to be an SNS certificate URL). */
  get(url: string): Promise<string>;
}

const SIGNED_FIELDS: Record<SnsMessage['Type'], (keyof SnsMessage)[]> = {
  Notification: ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'],
  SubscriptionConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
  UnsubscribeConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
};

const ALGORITHMS: Record<string, string> = { '1': 'RSA-SHA1', '2': 'RSA-SHA256' };
const SNS_HOST = /^sns\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?$/;

/** Whether `url` is an https URL on an SNS host; `pem` also requires a certificate path. */
export function isSnsUrl(url: string, kind: 'pem' | 'any' = 'any'): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  return parsed.protocol === 'https:' && parsed.port === '' && SNS_HOST.test(parsed.hostname) && (kind === 'any' || parsed.pathname.endsWith('.pem'));
}

/** The text SNS signed for this message. */
export function snsStringToSign(message: SnsMessage): string {
  return SIGNED_FIELDS[message.Type]
    .filter((name) => message[name] !== undefined)
    .map((name) => `${name}\n${message[name]}\n`)
    .join('');
}

const forged = (message: string) => new DepescheError('E_TOKEN', message, { hint: 'Only messages signed by Amazon SNS for a topic in SES_SNS_TOPIC_ARNS are accepted.' });

/** Reads a request body as an SNS message, or says which field is missing. */
export function asSnsMessage(body: unknown): SnsMessage {
  const m = body as Partial<SnsMessage> | null;
  if (!m || typeof m !== 'object') throw forged('The body is not an SNS message.');
  if (m.Type !== 'Notification' && m.Type !== 'SubscriptionConfirmation' && m.Type !== 'UnsubscribeConfirmation') throw forged('Unknown SNS message type.');
  for (const name of ['MessageId', 'TopicArn', 'Message', 'Timestamp', 'SignatureVersion', 'Signature', 'SigningCertURL'] as const) {
    if (typeof m[name] !== 'string') throw forged(`The SNS message has no ${name}.`);
  }
  return m as SnsMessage;
}

export interface SnsVerifyOptions {
  topicArns: readonly string[];
  certificates: CertificateSource;
  /** Oldest message accepted, ms; older ones are refused as replays. */
  maxAgeMs: number;
  now?: number;
}

/** Throws E_TOKEN unless the message is genuine, for one of our topics, and recent. */
export async function verifySnsMessage(message: SnsMessage, options: SnsVerifyOptions): Promise<void> {
  if (!options.topicArns.includes(message.TopicArn)) throw forged(`SNS topic ${message.TopicArn} is not in SES_SNS_TOPIC_ARNS.`);
  const algorithm = ALGORITHMS[message.SignatureVersion];
  if (!algorithm) throw forged(`Unknown SNS SignatureVersion "${message.SignatureVersion}".`);
  if (!isSnsUrl(message.SigningCertURL, 'pem')) throw forged('SigningCertURL is not an Amazon SNS certificate URL.');
  const sent = Date.parse(message.Timestamp);
  const now = options.now ?? Date.now();
  if (!Number.isFinite(sent) || now - sent > options.maxAgeMs || sent - now > 5 * 60_000) throw forged('The SNS message is too old (or from the future): a replay?');
  const pem = await options.certificates.get(message.SigningCertURL);
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pem);
  } catch (cause) {
    throw new DepescheError('E_TOKEN', 'The SNS signing certificate cannot be read.', { cause });
  }
  if (now < Date.parse(certificate.validFrom) || now > Date.parse(certificate.validTo)) throw forged('The SNS signing certificate is not valid now.');
  const ok = createVerify(algorithm).update(snsStringToSign(message), 'utf8').verify(certificate.publicKey, message.Signature, 'base64');
  if (!ok) throw forged('The SNS signature does not match.');
}

/** GETs a small text over https, with the system's CAs (or `ca`), a timeout and a size cap. */
export function fetchHttpsText(url: string, options: { ca?: string | Buffer; timeoutMs?: number; maxBytes?: number } = {}): Promise<string> {
  const maxBytes = options.maxBytes ?? 64 * 1024;
  return new Promise((resolve, reject) => {
    const request = httpsGet(url, { timeout: options.timeoutMs ?? 10_000, ...(options.ca ? { ca: options.ca } : {}) }, (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        reject(new Error(`GET ${url} answered ${response.statusCode}`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) request.destroy(new Error(`GET ${url}: more than ${maxBytes} bytes`));
        else chunks.push(chunk);
      });
      response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${url} timed out`)));
    request.on('error', reject);
  });
}

/**
 * Certificates fetched over https (TLS checks the host), kept per URL: SNS signs every
 * message of a region with the same certificate for months. Failed fetches are not kept.
 */
export class HttpsCertificateSource implements CertificateSource {
  readonly #cache = new Map<string, Promise<string>>();
  readonly #ca: string | Buffer | undefined;

  constructor(options: { ca?: string | Buffer } = {}) {
    this.#ca = options.ca;
  }

  get(url: string): Promise<string> {
    let pending = this.#cache.get(url);
    if (!pending) {
      if (this.#cache.size >= 50) this.#cache.delete(this.#cache.keys().next().value!);
      pending = fetchHttpsText(url, this.#ca ? { ca: this.#ca } : {});
      pending.catch(() => this.#cache.delete(url));
      this.#cache.set(url, pending);
    }
    return pending;
  }
}
