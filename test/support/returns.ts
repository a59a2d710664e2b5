import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/log.ts';
import { fileURLToPath } from 'node:url';
import { ReturnAddresses, returnAddressSettings } from '../../src/inbound/return-addresses.ts';
import type { ReturnSink } from '../../src/inbound/types.ts';
import type { VerpClaims } from '../../src/inbound/verp.ts';

/** One installation as the return-path tests see it. */
export const SECRET = 'return-path-test-secret-0123456789abcdef';
export const CAMPAIGN = 'cmfz3k2x9a1b2c3';
export const READER: VerpClaims = { campaignId: CAMPAIGN, subscriberId: 'Zq8_kP-3xY0aB9cD' };

export function testAddresses(secret = SECRET): ReturnAddresses {
  return new ReturnAddresses(
    returnAddressSettings({ RETURN_PATH_DOMAIN: 'bounces.example.org', UNSUBSCRIBE_MAILTO: undefined, MAIL_FROM: 'China AI2X Briefing <briefing@example.org>' }, [secret]),
  );
}

const dir = fileURLToPath(new URL('../fixtures/returns/', import.meta.url));

/**
 * A fixture message with its placeholders filled in for one reader: {{BOUNCE}} (the
 * reader's return path), {{UNSUBSCRIBE}} (their mailto), {{MESSAGE_ID}}, {{CAMPAIGN}}.
 * Lines end in CRLF, as on the wire.
 */
export function fixture(name: string, claims: VerpClaims = READER, addresses = testAddresses()): Buffer {
  const text = readFileSync(`${dir}${name}`, 'utf8')
    .replaceAll('{{BOUNCE}}', addresses.bounceAddress(claims)!)
    .replaceAll('{{UNSUBSCRIBE}}', addresses.unsubscribeAddress(claims))
    .replaceAll('{{MESSAGE_ID}}', `${claims.campaignId}.${claims.subscriberId}.r1@example.org`)
    .replaceAll('{{CAMPAIGN}}', claims.campaignId);
  return Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'utf8');
}

/** A logger whose lines a test can read. */
export function captureLogger(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return {
    logger: createLogger({ level: 'info', pretty: false, destination }),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

/** A sink that forwards to whichever sink `current()` names, so a test can swap in a failing one mid-run. */
export function switchableSink(current: () => ReturnSink): ReturnSink {
  return {
    bounce: (e) => current().bounce(e),
    rejection: (e) => current().rejection(e),
    complaint: (e) => current().complaint(e),
    unsubscribe: (e) => current().unsubscribe(e),
  };
}

/** Storage that is down: every method fails the way a closed Redis connection does. */
export const DOWN_SINK: ReturnSink = {
  bounce: () => Promise.reject(new Error('Connection is closed.')),
  rejection: () => Promise.reject(new Error('Connection is closed.')),
  complaint: () => Promise.reject(new Error('Connection is closed.')),
  unsubscribe: () => Promise.reject(new Error('Connection is closed.')),
};
