import { describe, expect, it } from 'vitest';
import { ANSWER_RULES, classifySendError, classifySmtpAnswer, enhancedStatusOf } from '../src/transport/smtp-answers.ts';
import { ANSWER_FIXTURES } from './fixtures/smtp-answers.ts';

describe('the SMTP answer table', () => {
  it.each(ANSWER_FIXTURES.map((f) => [`${f.provider}: ${f.answer.text.split('\n')[0]!.slice(0, 90)}`, f] as const))('%s', (_name, fixture) => {
    const result = classifySmtpAnswer(fixture.answer);
    expect({ kind: result.kind, rule: result.rule }).toEqual({ kind: fixture.kind, rule: fixture.rule });
    if (fixture.meaning) expect(result.meaning).toBe(fixture.meaning);
    expect(result.reason).not.toMatch(/[\r\n]/);
    expect(result.reason.length).toBeLessThanOrEqual(300);
  });

  it('has a real answer for every row, so no row is untested', () => {
    const covered = new Set(ANSWER_FIXTURES.map((f) => f.rule));
    expect(ANSWER_RULES.map((r) => r.id).filter((id) => !covered.has(id))).toEqual([]);
  });

  it('has fixtures from every provider the issue names', () => {
    const providers = new Set(ANSWER_FIXTURES.map((f) => f.provider));
    for (const p of ['Gmail', 'Outlook.com', 'Office 365', 'Yahoo', 'GMX', 'web.de', 't-online', 'Postfix']) expect(providers).toContain(p);
  });

  it('never bounces a reader for a blocklisting, whatever code carries it', () => {
    for (const code of [550, 551, 552, 553, 554]) {
      for (const status of ['5.1.1', '5.2.1', '5.4.1', '5.0.0', undefined]) {
        const text = `${code} ${status ?? ''} Service unavailable; Client host [203.0.113.5] blocked using zen.spamhaus.org`;
        expect(classifySmtpAnswer({ code, text }).kind).toBe('policy');
      }
    }
  });

  it('reads the enhanced code and not a piece of an IP address', () => {
    expect(enhancedStatusOf('550-5.1.1 The email account')).toBe('5.1.1');
    expect(enhancedStatusOf('554 Sorry, no mailbox here by that name. (#5.1.1)')).toBe('5.1.1');
    expect(enhancedStatusOf('554 IP=5.9.10.20 - A problem occurred.')).toBeUndefined();
    expect(enhancedStatusOf('554 from 2.2.2.2 refused')).toBeUndefined();
  });

  it('treats every 4xx as transient, even one that names a dead mailbox', () => {
    expect(classifySmtpAnswer({ code: 450, text: '450 4.1.1 <bob@example.com>: Recipient address rejected: unverified address: User unknown' })).toMatchObject({
      kind: 'transient',
      meaning: 'mailbox-gone',
    });
  });
});

describe('a failed send (nodemailer error shape)', () => {
  it('a 5xx to RCPT TO is read by the table', () => {
    const error = Object.assign(new Error('Can\'t send mail - all recipients were rejected'), {
      code: 'EENVELOPE',
      responseCode: 550,
      command: 'RCPT TO',
      response: '550 5.1.1 <bob@example.com>: Recipient address rejected: User unknown in local recipient table',
    });
    expect(classifySendError(error)).toMatchObject({ kind: 'hard', status: '5.1.1', code: 550 });
  });

  it('a refused login is our setup, not the reader', () => {
    const error = Object.assign(new Error('Invalid login'), {
      code: 'EAUTH',
      responseCode: 535,
      command: 'AUTH PLAIN',
      response: '535-5.7.8 Username and Password not accepted. For more information, go to https://support.google.com/mail/?p=BadCredentials - gsmtp',
    });
    expect(classifySendError(error)).toMatchObject({ kind: 'setup', rule: 'session-refused' });
  });

  it('a 421 at the greeting is transient', () => {
    expect(classifySendError({ responseCode: 421, command: 'CONN', response: '421 4.7.0 Try again later, closing connection.' }).kind).toBe('transient');
  });

  it('no answer before the message left: a safe retry', () => {
    expect(classifySendError(Object.assign(new Error('Connection closed'), { code: 'ECONNECTION', dataSent: false }))).toMatchObject({ kind: 'connection' });
    expect(classifySendError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:25'), { code: 'ECONNREFUSED' })).kind).toBe('connection');
    expect(classifySendError(Object.assign(new Error('Greeting never received'), { code: 'ETIMEDOUT', command: 'CONN' })).kind).toBe('connection');
  });

  it('no answer after the message left: unclear, never retried on its own', () => {
    expect(classifySendError(Object.assign(new Error('Connection closed unexpectedly'), { code: 'ECONNECTION', dataSent: true })).kind).toBe('unknown');
    // Without the flag nobody knows: the safe side is "may have arrived".
    expect(classifySendError(Object.assign(new Error('socket hang up'), { code: 'ESOCKET' })).kind).toBe('unknown');
    expect(classifySendError(undefined).kind).toBe('unknown');
  });
});

describe('the reason kept with an answer', () => {
  it('joins a multi-line answer without repeating its codes', () => {
    const gmail = ANSWER_FIXTURES[0]!.answer;
    const reason = classifySmtpAnswer(gmail).reason;
    expect(reason).toMatch(/^550-5\.1\.1 The email account that you tried to reach does not exist\. Please try double-checking the recipient's/);
    expect(reason.match(/5\.1\.1/g)).toHaveLength(1);
  });
});
