import { createHmac, createSign } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MemoryReturnSink } from '../src/inbound/memory-sink.ts';
import type { ReturnSink } from '../src/inbound/types.ts';
import { INBOUND_WEBHOOK_ROUTES, inboundWebhooks } from '../src/inbound/webhooks/plugin.ts';
import { MemorySeenTokens } from '../src/inbound/webhooks/seen-tokens.ts';
import { HttpsCertificateSource, snsStringToSign, type CertificateSource, type SnsMessage } from '../src/inbound/webhooks/sns.ts';
import { CAMPAIGN, DOWN_SINK, READER, switchableSink, testAddresses } from './support/returns.ts';
import { createTestCa, type TestCa, type TestCertificate } from './support/test-ca.ts';

const addresses = testAddresses();
const TOPIC = 'arn:aws:sns:eu-central-1:123456789012:depesche-ses';
const CERT_URL = 'https://sns.eu-central-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem';
const POSTMARK = { user: 'postmark', password: 'postmark-webhook-password-1' };
const MAILGUN_KEY = 'key-mailgun-signing-0123456789abcdef';

let ca: TestCa;
let signer: TestCertificate;
let app: FastifyInstance;
let sink: MemoryReturnSink;
let current: ReturnSink;
const fetched: string[] = [];
const confirmed: string[] = [];
const certificates: CertificateSource = {
  async get(url) {
    fetched.push(url);
    return signer.pem;
  },
};

beforeAll(async () => {
  ca = await createTestCa();
  signer = await createTestCa().then((other) => other.issue({ commonName: 'sns.amazonaws.com' }));
  app = Fastify({ trustProxy: true });
  await app.register(
    inboundWebhooks({
      sink: switchableSink(() => current),
      addresses,
      ses: { topicArns: [TOPIC], certificates, seen: new MemorySeenTokens(), confirm: async (url) => void confirmed.push(url) },
      postmark: POSTMARK,
      mailgun: { signingKey: MAILGUN_KEY, seen: new MemorySeenTokens() },
    }),
  );
  await app.ready();
});

afterAll(async () => {
  await app.close();
});

beforeEach(() => {
  sink = new MemoryReturnSink({
    readers: [
      { id: READER.subscriberId, email: 'mei.lin@example.com', lists: ['newsletter'] },
      { id: 'reader-2', email: 'tom@example.com', lists: ['newsletter'] },
    ],
    campaigns: { [CAMPAIGN]: { list: 'newsletter' } },
  });
  current = sink;
  fetched.length = 0;
  confirmed.length = 0;
});

// ── Amazon SES via SNS ─────────────────────────────────────────────────────────

let messageNo = 0;
function sesBounce(email: string, diagnostic: string, status: string): string {
  return JSON.stringify({
    notificationType: 'Bounce',
    bounce: {
      bounceType: 'Permanent',
      bounceSubType: 'General',
      bouncedRecipients: [{ emailAddress: email, action: 'failed', status, diagnosticCode: `smtp; ${diagnostic}` }],
      timestamp: new Date().toISOString(),
      feedbackId: `0102019a-feedback-${++messageNo}`,
    },
    mail: {
      messageId: `0102019a-ses-${messageNo}`,
      headers: [
        { name: 'Message-ID', value: `<${CAMPAIGN}.${READER.subscriberId}.r1@example.org>` },
        { name: 'List-Unsubscribe', value: `<https://news.example.org/u/x>, <mailto:${addresses.unsubscribeAddress(READER)}?subject=unsubscribe>` },
      ],
    },
  });
}

function snsSigned(fields: Partial<SnsMessage>, version: '1' | '2' = '2', key = signer.key): SnsMessage {
  const message = {
    Type: 'Notification',
    MessageId: `5a9e3c1e-${++messageNo}`,
    TopicArn: TOPIC,
    Message: '{}',
    Timestamp: new Date().toISOString(),
    SignatureVersion: version,
    SigningCertURL: CERT_URL,
    ...fields,
  } as SnsMessage;
  message.Signature = createSign(version === '1' ? 'RSA-SHA1' : 'RSA-SHA256').update(snsStringToSign(message)).sign(key, 'base64');
  return message;
}

function postSns(message: SnsMessage) {
  // SNS posts JSON with Content-Type text/plain.
  return app.inject({ method: 'POST', url: INBOUND_WEBHOOK_ROUTES.ses, headers: { 'content-type': 'text/plain; charset=UTF-8', 'x-amz-sns-message-type': message.Type }, payload: JSON.stringify(message) });
}

describe('Amazon SES via SNS', () => {
  it('valid, SignatureVersion 1 and 2: a bounce and a complaint are applied, attributed by the signed mailto token', async () => {
    const bounce = await postSns(snsSigned({ Message: sesBounce('mei.lin@example.com', '550 5.1.1 user unknown', '5.1.1') }, '1'));
    expect(bounce.statusCode).toBe(200);
    expect(sink.readers.get(READER.subscriberId)!.status).toBe('bounced');
    expect(sink.ledger.get(`${CAMPAIGN}:${READER.subscriberId}`)?.state).toBe('bounced');
    const complaint = JSON.stringify({
      notificationType: 'Complaint',
      complaint: { complainedRecipients: [{ emailAddress: 'tom@example.com' }], complaintFeedbackType: 'abuse', feedbackId: 'c-1', timestamp: new Date().toISOString() },
      mail: { messageId: 'ses-2', headers: [] },
    });
    expect((await postSns(snsSigned({ Message: complaint }, '2'))).statusCode).toBe(200);
    expect(sink.readers.get('reader-2')!.status).toBe('complained');
    expect(fetched.every((url) => url === CERT_URL)).toBe(true);
  });

  it('a blocklisting that SES files as a permanent bounce leaves the reader active', async () => {
    const message = sesBounce('mei.lin@example.com', '554 5.7.1 Service unavailable; Client host [203.0.113.5] blocked using zen.spamhaus.org', '5.7.1');
    expect((await postSns(snsSigned({ Message: message }))).statusCode).toBe(200);
    expect(sink.readers.get(READER.subscriberId)!.status).toBe('active');
    expect(sink.ledger.get(`${CAMPAIGN}:${READER.subscriberId}`)?.state).toBe('failed');
  });

  it('forged: an altered message, a key that is not the certificate\'s, a foreign topic, a foreign certificate host', async () => {
    const genuine = snsSigned({ Message: sesBounce('mei.lin@example.com', '550 5.1.1 user unknown', '5.1.1') });
    expect((await postSns({ ...genuine, Message: sesBounce('tom@example.com', '550 5.1.1 user unknown', '5.1.1') })).statusCode).toBe(403);
    const otherKey = (await ca.issue({ commonName: 'forger' })).key;
    expect((await postSns(snsSigned({ Message: sesBounce('mei.lin@example.com', '550 5.1.1 x', '5.1.1') }, '2', otherKey))).statusCode).toBe(403);
    expect((await postSns(snsSigned({ Message: sesBounce('mei.lin@example.com', '550 5.1.1 x', '5.1.1'), TopicArn: 'arn:aws:sns:eu-central-1:999999999999:theirs' }))).statusCode).toBe(403);
    fetched.length = 0;
    for (const url of ['https://evil.example/cert.pem', 'http://sns.eu-central-1.amazonaws.com/cert.pem', 'https://sns.eu-central-1.amazonaws.com.evil.example/cert.pem', 'https://sns.eu-central-1.amazonaws.com/cert.txt']) {
      expect((await postSns(snsSigned({ Message: '{}', SigningCertURL: url }))).statusCode).toBe(403);
    }
    expect(fetched).toEqual([]);
    expect(sink.applied).toEqual([]);
  });

  it('replayed: the same message again is answered but not applied twice; an old one is refused', async () => {
    const message = snsSigned({ Message: sesBounce('mei.lin@example.com', '552 5.2.2 mailbox full', '5.2.2') });
    expect((await postSns(message)).statusCode).toBe(200);
    const again = await postSns(message);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ duplicate: true });
    expect(sink.readers.get(READER.subscriberId)!.softBounces).toHaveLength(1);
    const old = snsSigned({ Message: sesBounce('tom@example.com', '550 5.1.1 x', '5.1.1'), Timestamp: new Date(Date.now() - 2 * 3_600_000).toISOString() });
    expect((await postSns(old)).statusCode).toBe(403);
  });

  it('confirms a subscription for our topic through an SNS URL only', async () => {
    const subscribeUrl = `https://sns.eu-central-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${TOPIC}&Token=2336412f37fb687f5d51e6e2425c464d`;
    const confirm = snsSigned({ Type: 'SubscriptionConfirmation', Message: 'You have chosen to subscribe…', SubscribeURL: subscribeUrl, Token: '2336412f37fb687f5d51e6e2425c464d' });
    expect((await postSns(confirm)).statusCode).toBe(200);
    expect(confirmed).toEqual([subscribeUrl]);
    const evil = snsSigned({ Type: 'SubscriptionConfirmation', Message: 'x', SubscribeURL: 'https://evil.example/?steal', Token: 't' });
    expect((await postSns(evil)).statusCode).toBe(403);
    expect(confirmed).toHaveLength(1);
  });

  it('answers 503 while the sink is down, so SNS retries, and applies the retry once', async () => {
    const message = snsSigned({ Message: sesBounce('mei.lin@example.com', '550 5.1.1 user unknown', '5.1.1') });
    current = DOWN_SINK;
    expect((await postSns(message)).statusCode).toBe(503);
    current = sink;
    expect((await postSns(message)).statusCode).toBe(200);
    expect(sink.applied).toHaveLength(1);
  });
});

describe('the certificate source', () => {
  let server: Server;
  let port: number;

  beforeAll(async () => {
    const tls = await ca.issue({ commonName: 'localhost', hosts: ['localhost', '127.0.0.1'] });
    server = createServer({ key: tls.keyPem, cert: tls.pem }, (request, response) => {
      if (request.url === '/cert.pem') response.end(signer.pem);
      else response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('fetches over https, trusting only a CA it knows, and keeps what it fetched', async () => {
    const trusting = new HttpsCertificateSource({ ca: ca.pem });
    expect(await trusting.get(`https://127.0.0.1:${port}/cert.pem`)).toBe(signer.pem);
    await expect(new HttpsCertificateSource().get(`https://127.0.0.1:${port}/cert.pem`)).rejects.toThrow(/certificate/i);
    await expect(trusting.get(`https://127.0.0.1:${port}/missing.pem`)).rejects.toThrow(/404/);
  });
});

// ── Postmark ───────────────────────────────────────────────────────────────────

function postmarkBounce(id: number, email: string, type = 'HardBounce', details = 'smtp;550 5.1.1 The email account that you tried to reach does not exist.') {
  return { RecordType: 'Bounce', ID: id, Type: type, Email: email, Details: details, BouncedAt: new Date().toISOString(), Metadata: { 'depesche-campaign': CAMPAIGN, 'depesche-subscriber': READER.subscriberId } };
}

function postPostmark(payload: unknown, { https = true, auth = POSTMARK as { user: string; password: string } | null } = {}) {
  return app.inject({
    method: 'POST',
    url: INBOUND_WEBHOOK_ROUTES.postmark,
    headers: {
      ...(https ? { 'x-forwarded-proto': 'https' } : {}),
      ...(auth ? { authorization: `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}` } : {}),
    },
    payload: payload as Record<string, unknown>,
  });
}

describe('Postmark', () => {
  it('valid: a hard bounce over https with the right credentials, attributed by our metadata', async () => {
    expect((await postPostmark(postmarkBounce(1, 'mei.lin@example.com'))).statusCode).toBe(200);
    expect(sink.readers.get(READER.subscriberId)!.status).toBe('bounced');
    expect((await postPostmark({ RecordType: 'SpamComplaint', ID: 2, Email: 'tom@example.com', BouncedAt: new Date().toISOString() })).statusCode).toBe(200);
    expect(sink.readers.get('reader-2')!.status).toBe('complained');
  });

  it('forged: wrong password, no credentials, or plain http', async () => {
    expect((await postPostmark(postmarkBounce(3, 'mei.lin@example.com'), { auth: { ...POSTMARK, password: 'guess' } })).statusCode).toBe(401);
    const none = await postPostmark(postmarkBounce(3, 'mei.lin@example.com'), { auth: null });
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Basic/);
    expect((await postPostmark(postmarkBounce(3, 'mei.lin@example.com'), { https: false })).statusCode).toBe(403);
    expect(sink.applied).toEqual([]);
  });

  it('replayed: the same bounce twice counts once', async () => {
    const soft = postmarkBounce(4, 'mei.lin@example.com', 'SoftBounce', 'smtp;552 5.2.2 mailbox full');
    expect((await postPostmark(soft)).statusCode).toBe(200);
    expect((await postPostmark(soft)).statusCode).toBe(200);
    expect(sink.readers.get(READER.subscriberId)!.softBounces).toHaveLength(1);
  });

  it('a "HardBounce" whose details are a blocklisting stays the sender\'s problem', async () => {
    await postPostmark(postmarkBounce(5, 'mei.lin@example.com', 'HardBounce', 'smtp;554 5.7.1 Service unavailable; Client host [203.0.113.5] blocked using zen.spamhaus.org'));
    expect(sink.readers.get(READER.subscriberId)!.status).toBe('active');
  });
});

// ── Mailgun ────────────────────────────────────────────────────────────────────

let tokenNo = 0;
function mailgunPayload(eventData: Record<string, unknown>, { key = MAILGUN_KEY, timestamp = Math.floor(Date.now() / 1000), token = `tok${++tokenNo}${'0'.repeat(40)}` } = {}) {
  const signature = createHmac('sha256', key).update(`${timestamp}${token}`).digest('hex');
  return { signature: { timestamp: String(timestamp), token, signature }, 'event-data': eventData };
}

function mailgunFailed(id: string, recipient: string) {
  return {
    event: 'failed',
    id,
    severity: 'permanent',
    reason: 'bounce',
    recipient,
    timestamp: Date.now() / 1000,
    'delivery-status': { code: 550, message: '5.1.1 The email account that you tried to reach does not exist.', description: '' },
    message: { headers: { 'message-id': `${CAMPAIGN}.${READER.subscriberId}.r1@example.org` } },
    'user-variables': { 'depesche-campaign': CAMPAIGN, 'depesche-subscriber': READER.subscriberId },
  };
}

const postMailgun = (payload: unknown) => app.inject({ method: 'POST', url: INBOUND_WEBHOOK_ROUTES.mailgun, payload: payload as Record<string, unknown> });

describe('Mailgun', () => {
  it('valid: a permanent failure bounces the reader', async () => {
    expect((await postMailgun(mailgunPayload(mailgunFailed('ev-1', 'mei.lin@example.com')))).statusCode).toBe(200);
    expect(sink.readers.get(READER.subscriberId)!.status).toBe('bounced');
  });

  it('valid, naming the reader only by address (no metadata, no Message-ID): applied, since the signed webhook vouches for it', async () => {
    const { 'user-variables': _vars, message: _message, ...byAddress } = mailgunFailed('ev-addr', 'tom@example.com');
    expect((await postMailgun(mailgunPayload(byAddress))).statusCode).toBe(200);
    expect(sink.readers.get('reader-2')!.status).toBe('bounced');
    expect(sink.unmatched).toEqual([]);
  });

  it('forged: a signature under another key, a tampered signature, none at all', async () => {
    expect((await postMailgun(mailgunPayload(mailgunFailed('ev-2', 'mei.lin@example.com'), { key: 'key-someone-else-0123456789abcdef' }))).statusCode).toBe(403);
    const genuine = mailgunPayload(mailgunFailed('ev-3', 'mei.lin@example.com'));
    const flipped = genuine.signature.signature.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    expect((await postMailgun({ ...genuine, signature: { ...genuine.signature, signature: flipped } })).statusCode).toBe(403);
    expect((await postMailgun({ 'event-data': genuine['event-data'] })).statusCode).toBe(403);
    expect(sink.applied).toEqual([]);
  });

  it('replayed: a seen token or an old timestamp is refused', async () => {
    const payload = mailgunPayload(mailgunFailed('ev-5', 'mei.lin@example.com'));
    expect((await postMailgun(payload)).statusCode).toBe(200);
    expect((await postMailgun(payload)).statusCode).toBe(403);
    expect((await postMailgun(mailgunPayload(mailgunFailed('ev-6', 'tom@example.com'), { timestamp: Math.floor(Date.now() / 1000) - 3600 }))).statusCode).toBe(403);
    expect(sink.applied).toHaveLength(1);
  });

  it('answers 503 while the sink is down and takes Mailgun\'s retry with the same token', async () => {
    const payload = mailgunPayload(mailgunFailed('ev-7', 'mei.lin@example.com'));
    current = DOWN_SINK;
    expect((await postMailgun(payload)).statusCode).toBe(503);
    current = sink;
    expect((await postMailgun(payload)).statusCode).toBe(200);
    expect(sink.readers.get(READER.subscriberId)!.status).toBe('bounced');
  });
});
