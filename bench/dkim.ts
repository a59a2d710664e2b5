// DKIM signing cost per message: our signer (key parsed once, native checks, one hash of
// the finished buffer) against nodemailer's DKIM (as its transport runs it: the PEM key
// text, a stream per message), on the same campaign message of the sample briefing and the
// same RSA-2048 key; plus Ed25519 and both together. CPU µs per signature, measured in
// interleaved rounds (A, B, C, … then again) so a busy machine slows each alike; medians.
// Also what caching the shared body prefix (a cloned hash state) would save.
// Runnable alone: `node bench/dkim.ts`.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import DKIM from 'nodemailer/lib/dkim';
import { prepareEdition } from '../src/campaign/mime.ts';
import { createCompiler } from '../src/render/index.ts';
import { createDkimSigner, DKIM_HEADERS, relaxedBody, relaxedBodyParts } from '../src/transport/dkim.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SLUG = '2026-02-22-china-ai2x';
const ROUNDS = Number(process.env.BENCH_DKIM_ROUNDS ?? 7);
const PER_ROUND = Number(process.env.BENCH_DKIM_MESSAGES ?? 200);

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** CPU µs per call of `fn` over `count` calls (user + system of this process). */
async function cpuPer(count: number, fn: (i: number) => unknown): Promise<number> {
  const before = process.cpuUsage();
  for (let i = 0; i < count; i++) await fn(i);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / count;
}

export async function run(): Promise<void> {
  const compiler = createCompiler({ contentDir: root, publicUrl: 'https://news.example.org' });
  const [edition] = await compiler.compile(SLUG);
  const prepared = prepareEdition(edition!, {
    mailFrom: 'China AI2X Briefing <briefing@example.org>',
    publicUrl: 'https://news.example.org',
    secret: 'b'.repeat(40),
    campaignId: 'cbench',
    list: 'bench',
  });
  const built = Array.from({ length: 50 }, (_, i) => prepared.build({ id: `s${i}`, email: `reader${i}@example.net`, name: `Lëser Nummer ${i}`, lang: edition!.lang }, 'run'));
  const messages = built.map((m) => m.raw);
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ed = generateKeyPairSync('ed25519');
  const pem = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const domain = 'example.org';
  const ours = {
    rsa: createDkimSigner({ domain, keys: [{ selector: 'r', privateKey: rsa.privateKey }] }),
    ed25519: createDkimSigner({ domain, keys: [{ selector: 'e', privateKey: ed.privateKey }] }),
    both: createDkimSigner({ domain, keys: [{ selector: 'r', privateKey: rsa.privateKey }, { selector: 'e', privateKey: ed.privateKey }] }),
  };
  const theirs = new DKIM({ domainName: domain, keySelector: 'r', privateKey: pem, headerFieldNames: DKIM_HEADERS });
  const nodemailerSign = async (message: Buffer) => {
    const chunks: Buffer[] = [];
    for await (const chunk of theirs.sign(message)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  };

  // The part of the body every recipient shares before the first merge value.
  // A fresh view per call, as a signer gets it, so no cache keyed by the buffer can answer.
  const bodyAt = messages.map((m) => m.indexOf('\r\n\r\n') + 4);
  const body = (i: number) => messages[i % messages.length]!.subarray(bodyAt[i % messages.length]!);
  const bodies = messages.map((_, i) => body(i));
  let prefix = 0;
  while (bodies[0]![prefix] === bodies[1]![prefix]) prefix++;
  const prefixState = createHash('sha256').update(bodies[0]!.subarray(0, prefix));
  const fast = bodies.every((b) => relaxedBody(b).buffer === b.buffer);
  const label = fast ? 'needs no relaxed rewrite (hashed as is)' : 'has runs of spaces (HTML indentation) that relaxed canonicalisation collapses';

  const rows: Record<string, (i: number) => unknown> = {
    'nodemailer DKIM, RSA-2048 (PEM per message, stream)': (i) => nodemailerSign(messages[i % messages.length]!),
    'ours, RSA-2048': (i) => ours.rsa.sign(messages[i % messages.length]!),
    'ours, Ed25519': (i) => ours.ed25519.sign(messages[i % messages.length]!),
    'ours, RSA-2048 + Ed25519': (i) => ours.both.sign(messages[i % messages.length]!),
    'ours, RSA-2048 + Ed25519, from the parts': (i) => ours.both.signatureFields(built[i % built.length]!.parts),
    '  of which: body hash (relaxed, SHA-256)': (i) => createHash('sha256').update(relaxedBody(body(i))).digest(),
    '  body hash from a cloned prefix state': (i) => prefixState.copy().update(relaxedBody(body(i)).subarray(prefix)).digest(),
    '  body hash from the parts (shared parts cached)': (i) => {
      const hash = createHash('sha256');
      for (const part of relaxedBodyParts(built[i % built.length]!.parts.slice(5))) hash.update(part);
      return hash.digest();
    },
    '  SHA-256 of the body as it is (the floor)': (i) => createHash('sha256').update(body(i)).digest(),
  };
  const samples = new Map<string, number[]>(Object.keys(rows).map((k) => [k, []]));
  for (const fn of Object.values(rows)) await cpuPer(20, fn); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, fn] of Object.entries(rows)) samples.get(name)!.push(await cpuPer(PER_ROUND, fn));
  }
  console.log(
    `dkim: ${edition!.lang} edition of the sample briefing, ${Math.round(messages[0]!.length / 1024)} KB per message, ` +
      `${ROUNDS} interleaved rounds × ${PER_ROUND} messages; body ${label}; ` +
      `shared body prefix ${prefix} bytes`,
  );
  const base = median(samples.get('nodemailer DKIM, RSA-2048 (PEM per message, stream)')!);
  for (const [name, values] of samples) {
    const m = median(values);
    const ratio = name.startsWith('ours') ? `  (${(base / m).toFixed(1)}× faster than nodemailer)` : '';
    console.log(`  ${name.padEnd(52)} ${m.toFixed(0).padStart(6)} µs CPU/msg  [${Math.min(...values).toFixed(0)}–${Math.max(...values).toFixed(0)}]${ratio}`);
  }
}

if (import.meta.main) await run();
