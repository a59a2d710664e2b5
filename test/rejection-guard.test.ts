import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startDevStack, type DevStack } from '../src/app/dev-stack.ts';
import { createLogger } from '../src/log.ts';
import { NODE, root } from './support/campaign.ts';
import { freePort } from './support/ports.ts';
import { startRedis } from './support/redis.ts';

// In a child process: vitest keeps its own unhandledRejection listener, which would report
// the very rejections this test makes on purpose.
const script = (guarded: boolean) => `
const url = (p) => ${JSON.stringify(pathToFileURL(root).href)} + '/' + p;
const { guardRejections } = await import(url('src/app/rejection-guard.ts'));
const { createBatchProcessor, failCurrentBatch } = await import(url('src/campaign/batch.ts'));
const logged = [];
if (${guarded}) guardRejections((fields, message) => logged.push({ ...fields, err: String(fields.err), message }), failCurrentBatch);
// A batch whose first step lets a promise reject without anyone waiting for it.
const campaigns = { get: async () => { Promise.reject(new Error('stray in a batch')); await new Promise((r) => setTimeout(r, 50)); return null; } };
const processBatch = createBatchProcessor({ campaigns, pendingMarks: new Map() });
const result = await processBatch({ data: { campaignId: 'c-guard', batchNo: 7, ids: [] }, opts: {} });
Promise.reject(new Error('stray outside'));
await new Promise((r) => setTimeout(r, 50));
console.log(JSON.stringify({ result, logged }));
`;

function run(guarded: boolean): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(NODE, ['--input-type=module', '-e', script(guarded)], { cwd: root });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the unhandledRejection guard of worker and dev', () => {
  it('keeps the process alive and logs a stray rejection with its campaign and batch, or as outside any batch', async () => {
    const { code, stdout, stderr } = await run(true);
    expect(code, stderr).toBe(0);
    const { logged } = JSON.parse(stdout) as { logged: Record<string, unknown>[] };
    expect(logged).toEqual([
      { err: 'Error: stray in a batch', campaign: 'c-guard', batch: 7, message: 'unhandled rejection; failing its batch' },
      { err: 'Error: stray outside', message: 'unhandled rejection outside any batch' },
    ]);
  }, 30_000);

  it('is what stands between a stray rejection and the end of the process', async () => {
    const { code, stderr } = await run(false);
    expect(code).not.toBe(0);
    expect(stderr).toContain('stray in a batch');
  }, 30_000);

  it('is installed by depesche dev for its in-process worker, logs there, and goes away with the stack', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'depesche-guard-'));
    const redis = await startRedis();
    const lines: string[] = [];
    const destination = new PassThrough();
    destination.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
    const before = process.listeners('unhandledRejection');
    let stack: DevStack | undefined;
    try {
      stack = await startDevStack({
        port: await freePort(),
        cwd,
        env: { REDIS_URL: redis.url, CONTENT_DIR: root, LOG_LEVEL: 'info' },
        logger: createLogger({ level: 'info', pretty: false, destination }),
      });
      const added = process.listeners('unhandledRejection').filter((l) => !before.includes(l));
      expect(added).toHaveLength(1);
      // Called directly: emitting the event would reach vitest's own listener too.
      (added[0] as (reason: unknown) => void)(new Error('stray in dev'));
      await expect.poll(() => lines.find((l) => l.includes('stray in dev'))).toBeDefined();
      const line = JSON.parse(lines.find((l) => l.includes('stray in dev'))!) as Record<string, unknown>;
      expect(line).toMatchObject({ level: 50, component: 'worker', msg: 'unhandled rejection outside any batch' });
    } finally {
      await stack?.close();
      await redis.stop();
      rmSync(cwd, { recursive: true, force: true });
    }
    expect(process.listeners('unhandledRejection')).toEqual(before);
  }, 90_000);
});
