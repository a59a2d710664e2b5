import { execFileSync, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import net from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, describe, expect, it } from 'vitest';
import { classifyFailure } from '../src/campaign/outcome.ts';
import { markCanonical } from '../src/transport/canonical.ts';
import { createDkimSigner } from '../src/transport/dkim.ts';
import { createSmtpClient, type SmtpClient, type SmtpError } from '../src/transport/smtp-client.ts';
import { freePort } from './support/ports.ts';
import { startSmtp } from './support/smtp.ts';

const envelope = { from: 'briefing@example.org', to: 'reader@example.net' };
const message = (body: string) => Buffer.from(`From: briefing@example.org\r\nTo: reader@example.net\r\nSubject: Test\r\nMessage-ID: <t@example.org>\r\n\r\n${body}`, 'utf8');
const clients: SmtpClient[] = [];
const client = (url: string, extra: Partial<Parameters<typeof createSmtpClient>[0]> = {}) => {
  const c = createSmtpClient({ url, poolSize: 2, timeoutMs: 5_000, ...extra });
  clients.push(c);
  return c;
};
/** Clients say QUIT before their servers close (a server waits for its connections). */
const closeClients = () => Promise.all(clients.splice(0).map((c) => c.close()));
afterAll(closeClients);

async function failure(promise: Promise<unknown>): Promise<SmtpError> {
  try {
    await promise;
  } catch (error) {
    return error as SmtpError;
  }
  throw new Error('expected the send to fail');
}

/**
 * A scripted SMTP server, for answers smtp-server does not give (Postfix's multi-line
 * greetings, a 421 mid-session, a connection cut at a chosen moment). `answer` gets each
 * command line, or `DATA-END` with the message once the final dot arrived, and returns the
 * reply to write, or `drop` to cut the connection there.
 */
type Session = { data: string; index: number; accepted: number };
type Answer = (line: string, session: Session) => string | 'drop' | 'silent' | undefined;

async function scripted(answer: Answer, greeting = '220-mx.example.net ESMTP Postfix\r\n220 mx.example.net ready') {
  const port = await freePort();
  const transcript: string[] = [];
  /** Which read from the socket each command line came in: lines sent in one write share one. */
  const arrivals: { line: string; chunk: number }[] = [];
  let chunks = 0;
  let sessions = 0;
  const server = net.createServer((socket) => {
    const session: Session = { data: '', index: sessions++, accepted: 0 };
    let buffered = '';
    let inData = false;
    socket.write(`${greeting}\r\n`);
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      const chunkNo = chunks++;
      buffered += chunk.toString('latin1');
      for (;;) {
        if (inData) {
          // The data ends at a line holding one dot (which may be the first line).
          const end = buffered.startsWith('.\r\n') ? -2 : buffered.indexOf('\r\n.\r\n');
          if (end === -1) return;
          session.data = buffered.slice(0, end + 2);
          buffered = buffered.slice(end + 5);
          inData = false;
          transcript.push('DATA-END');
          if (reply('DATA-END')) return;
          continue;
        }
        const at = buffered.indexOf('\r\n');
        if (at === -1) return;
        const line = buffered.slice(0, at);
        buffered = buffered.slice(at + 2);
        transcript.push(line);
        arrivals.push({ line, chunk: chunkNo });
        if (reply(line)) return;
      }
    });
    const reply = (line: string): boolean => {
      const out = answer(line, session);
      if (out === 'drop') {
        socket.destroy();
        return true;
      }
      if (out !== undefined && out !== 'silent') socket.write(`${out}\r\n`);
      if (out?.startsWith('354')) inData = true;
      if (out?.startsWith('221') || out?.startsWith('421')) socket.end();
      return false;
    };
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { url: `smtp://127.0.0.1:${port}`, transcript, arrivals, sessions: () => sessions, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** Answers as Postfix does, without PIPELINING unless asked, with `override` for chosen commands. */
const postfix =
  (override: Answer = () => undefined, pipelining = false): Answer =>
  (line, session) => {
    const special = override(line, session);
    if (special === undefined && line.startsWith('RCPT TO')) session.accepted++;
    if (line === 'RSET' || line.startsWith('MAIL FROM')) session.accepted = 0;
    if (special !== undefined) return special;
    if (line.startsWith('EHLO')) return `250-mx.example.net\r\n250-SIZE 10240000\r\n${pipelining ? '250-PIPELINING\r\n' : ''}250-ENHANCEDSTATUSCODES\r\n250 8BITMIME`;
    if (line.startsWith('MAIL FROM') || line.startsWith('RCPT TO') || line === 'RSET') return '250 2.1.0 Ok';
    if (line === 'DATA') return session.accepted > 0 ? '354 End data with <CR><LF>.<CR><LF>' : '554 5.5.1 Error: no valid recipients';
    if (line === 'DATA-END') return '250 2.0.0 Ok: queued as 4XbC1';
    if (line === 'QUIT') return '221 2.0.0 Bye';
    return '502 5.5.2 Error: command not recognized';
  };

describe('SMTP client', () => {
  it('delivers byte for byte what SMTP promises: dots stuffed and removed, bare line ends fixed, through a pool', async () => {
    const smtp = await startSmtp({ parse: false });
    const c = client(smtp.url, { poolSize: 3 });
    const tricky = message('.leading dot\r\n..two dots\nbare LF\rbare CR\r\nline\r\n.\r\nno final line end');
    const clean = message('clean line\r\n');
    markCanonical(clean);
    const sends = Array.from({ length: 30 }, (_, i) => c.send({ envelope: { ...envelope, to: `r${i}@example.net` }, messageId: `<m${i}@example.org>`, raw: i % 2 ? tricky : [clean] }));
    const answers = await Promise.all(sends);
    expect(answers[3]).toMatchObject({ messageId: '<m3@example.org>', accepted: ['r3@example.net'], rejected: [] });
    expect(answers[3]!.response).toMatch(/^250/);
    expect(smtp.mails).toHaveLength(30);
    const got = smtp.mails.find((m) => m.to[0] === 'r1@example.net')!.raw;
    expect(got).toBe(tricky.toString().replace(/\r\n|\r|\n/g, '\r\n') + '\r\n');
    expect(smtp.mails.find((m) => m.to[0] === 'r2@example.net')!.raw).toBe(clean.toString());
    await closeClients();
    await smtp.close();
  });

  it('speaks STARTTLS and logs in with PLAIN or LOGIN; refuses a wrong password with EAUTH', async () => {
    for (const method of ['PLAIN', 'LOGIN']) {
      const port = await freePort();
      const received: string[] = [];
      const server = new SMTPServer({
        logger: false,
        authMethods: [method],
        onAuth(auth, session, callback) {
          if (auth.username === 'editor' && auth.password === 'p@ss:wörd' && session.secure) callback(null, { user: 'editor' });
          else callback(new Error('Invalid username or password'));
        },
        onData(stream, session, callback) {
          stream.on('data', () => {});
          stream.on('end', () => (received.push(`${session.user}|${session.secure}`), callback()));
        },
      });
      server.on('error', () => {});
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
      const tls = { rejectUnauthorized: false };
      await client(`smtp://editor:${encodeURIComponent('p@ss:wörd')}@127.0.0.1:${port}`, { tls }).send({ envelope, messageId: '<a@x>', raw: message('hi\r\n') });
      expect(received, method).toEqual(['editor|true']);
      const wrong = await failure(client(`smtp://editor:nope@127.0.0.1:${port}`, { tls }).send({ envelope, messageId: '<a@x>', raw: message('hi\r\n') }));
      expect(wrong).toMatchObject({ code: 'EAUTH', responseCode: 535, dataSent: false });
      expect(classifyFailure(wrong)).toBe('connection');
      await closeClients();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('speaks implicit TLS on smtps://', async () => {
    const port = await freePort();
    let secure = false;
    const server = new SMTPServer({
      logger: false,
      secure: true,
      authOptional: true,
      onData(stream, session, callback) {
        secure = session.secure;
        stream.on('data', () => {});
        stream.on('end', () => callback());
      },
    });
    server.on('error', () => {});
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    const answer = await client(`smtps://127.0.0.1:${port}`, { tls: { rejectUnauthorized: false } }).send({ envelope, messageId: '<s@x>', raw: message('tls\r\n') });
    expect(answer.response).toMatch(/^250/);
    expect(secure).toBe(true);
    await closeClients();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('reads multi-line answers, falls back to HELO, pipelines when offered and not when not', async () => {
    const helo = await scripted(postfix((line) => (line.startsWith('EHLO') ? '502 5.5.1 EHLO not supported' : line.startsWith('HELO') ? '250 mx.example.net' : undefined)));
    expect((await client(helo.url).send({ envelope, messageId: '<h@x>', raw: message('x\r\n') })).response).toBe('250 2.0.0 Ok: queued as 4XbC1');
    expect(helo.transcript.slice(0, 4)).toEqual(['EHLO ' + helo.transcript[0]!.slice(5), 'HELO ' + helo.transcript[0]!.slice(5), 'MAIL FROM:<briefing@example.org>', 'RCPT TO:<reader@example.net>']);
    // Without PIPELINING each command waits for its answer: each came in a read of its own.
    const envelopeChunks = (arrivals: { line: string; chunk: number }[]) => arrivals.filter((a) => /^(MAIL|RCPT|DATA$)/.test(a.line)).map((a) => a.chunk);
    expect(new Set(envelopeChunks(helo.arrivals)).size).toBe(3);
    // With PIPELINING, MAIL, both RCPTs and DATA go out in one write, before any answer.
    const piped = await scripted(postfix(undefined, true));
    await client(piped.url).send({ envelope: { from: envelope.from, to: ['a@example.net', 'b@example.net'] }, messageId: '<p@x>', raw: message('x\r\n') });
    expect(envelopeChunks(piped.arrivals)).toHaveLength(4);
    expect(new Set(envelopeChunks(piped.arrivals)).size).toBe(1);
    await closeClients();
    await piped.close();
    await helo.close();
  });

  it('a refused recipient: 550 with the command, nothing sent, the connection reset and used again', async () => {
    const server = await scripted(postfix((line) => (line === 'RCPT TO:<gone@example.net>' ? '550 5.1.1 <gone@example.net>: Recipient address rejected: User unknown' : undefined), true));
    const c = client(server.url, { poolSize: 1 });
    const error = await failure(c.send({ envelope: { ...envelope, to: 'gone@example.net' }, messageId: '<r@x>', raw: message('x\r\n') }));
    expect(error).toMatchObject({ code: 'EENVELOPE', responseCode: 550, command: 'RCPT TO', dataSent: false });
    expect(error.response).toContain('User unknown');
    expect(classifyFailure(error)).toBe('bounce');
    await c.send({ envelope, messageId: '<ok@x>', raw: message('x\r\n') });
    expect(server.transcript).toContain('RSET');
    expect(server.sessions()).toBe(1);
    await closeClients();
    await server.close();
  });

  it('a 421 mid-session: transient, nothing sent, and the next message gets a fresh connection', async () => {
    const server = await scripted(postfix((line, session) => (line.startsWith('MAIL FROM') && session.index === 0 ? '421 4.7.0 mx.example.net Error: too many errors' : undefined)));
    const c = client(server.url, { poolSize: 1 });
    const error = await failure(c.send({ envelope, messageId: '<a@x>', raw: message('x\r\n') }));
    expect(error).toMatchObject({ responseCode: 421, command: 'MAIL FROM', dataSent: false });
    expect(classifyFailure(error)).toBe('transient');
    await c.send({ envelope, messageId: '<b@x>', raw: message('x\r\n') });
    expect(server.sessions()).toBe(2);
    await closeClients();
    await server.close();
  });

  it('says whether the message had left: cut before DATA is safe to retry, cut after it is unclear', async () => {
    const before = await scripted(postfix((line) => (line.startsWith('RCPT') ? 'drop' : undefined)));
    const early = await failure(client(before.url).send({ envelope, messageId: '<a@x>', raw: message('x\r\n') }));
    expect(early).toMatchObject({ code: 'ECONNECTION', dataSent: false });
    expect(early.responseCode).toBeUndefined();
    expect(classifyFailure(early)).toBe('connection');
    await closeClients();
    await before.close();

    const after = await scripted(postfix((line) => (line === 'DATA-END' ? 'drop' : undefined)));
    const late = await failure(client(after.url).send({ envelope, messageId: '<b@x>', raw: message('x\r\n') }));
    expect(late).toMatchObject({ code: 'ECONNECTION', dataSent: true });
    expect(classifyFailure(late)).toBe('unknown');
    await closeClients();
    await after.close();

    const silent = await scripted(postfix((line) => (line === 'DATA-END' ? 'silent' : undefined)));
    const timeout = await failure(client(silent.url, { timeoutMs: 300 }).send({ envelope, messageId: '<c@x>', raw: message('x\r\n') }));
    expect(timeout).toMatchObject({ code: 'ETIMEDOUT', dataSent: true });
    await closeClients();
    await silent.close();

    const spam = await scripted(postfix((line) => (line === 'DATA-END' ? '554 5.7.1 Message rejected as spam' : undefined), true));
    const refused = await failure(client(spam.url).send({ envelope, messageId: '<d@x>', raw: message('x\r\n') }));
    expect(refused).toMatchObject({ code: 'EMESSAGE', responseCode: 554, command: 'DATA', dataSent: true });
    await closeClients();
    await spam.close();
  });

  it('retries once on a fresh connection when a kept-open one turns out closed, and only then', async () => {
    // The first session serves one message, then is cut when reused: as when a relay
    // dropped an idle connection the client had not yet heard close.
    let mails = 0;
    const server = await scripted(postfix((line, session) => (line.startsWith('MAIL FROM') && session.index === 0 && ++mails === 2 ? 'drop' : undefined)));
    const c = client(server.url, { poolSize: 1 });
    await c.send({ envelope, messageId: '<a@x>', raw: message('x\r\n') });
    await c.send({ envelope, messageId: '<b@x>', raw: message('x\r\n') });
    expect(server.sessions()).toBe(2);
    expect(server.transcript.filter((l) => l === 'DATA-END')).toHaveLength(2);
    await closeClients();
    await server.close();

    // A fresh connection that breaks is not retried: the batch decides.
    const broken = await scripted(postfix((line) => (line.startsWith('MAIL FROM') ? 'drop' : undefined)));
    await expect(client(broken.url).send({ envelope, messageId: '<c@x>', raw: message('x\r\n') })).rejects.toMatchObject({ code: 'ECONNECTION', dataSent: false });
    expect(broken.sessions()).toBe(1);
    await closeClients();
    await broken.close();
  });

  it('refuses an envelope that could inject a command, before connecting', async () => {
    const server = await scripted(postfix());
    const c = client(server.url);
    for (const to of ['x@example.net>\r\nRCPT TO:<evil@example.net', 'a b@example.net', '']) {
      await expect(c.send({ envelope: { ...envelope, to }, messageId: '<e@x>', raw: message('x\r\n') })).rejects.toMatchObject({ code: 'EENVELOPE', dataSent: false });
    }
    expect(server.sessions()).toBe(0);
    await closeClients();
    await server.close();
  });

  const verifier = spawnSync('/usr/bin/python3', ['-c', 'import dkim'], { stdio: 'ignore' }).status === 0;
  it.skipIf(!verifier)('DKIM-signs before dot-stuffing, so what arrives verifies (dkimpy)', async () => {
    const smtp = await startSmtp({ parse: false });
    const key = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const dkim = createDkimSigner({ domain: 'example.org', keys: [{ selector: 's1', privateKey: key.privateKey }] });
    await client(smtp.url, { dkim }).send({ envelope, messageId: '<k@x>', raw: message('.a line with a dot\r\nand\r\n..two\r\n') });
    const raw = Buffer.from(smtp.mails[0]!.raw, 'utf8');
    expect(raw.toString()).toContain('\r\n.a line with a dot\r\n');
    const records = { 's1._domainkey.example.org': `v=DKIM1; k=rsa; p=${key.publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}` };
    const out = execFileSync('/usr/bin/python3', [new URL('./support/dkim-verify.py', import.meta.url).pathname], { input: JSON.stringify([{ message: raw.toString('base64'), records }]) });
    expect(JSON.parse(out.toString())).toEqual([[{ ok: true, domain: 'example.org', selector: 's1' }]]);
    await closeClients();
    await smtp.close();
  });
});
