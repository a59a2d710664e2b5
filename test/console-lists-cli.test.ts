import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyspace } from '../src/config/redis.ts';
import { RedisSubscriberStore } from '../src/subscribers/redis-store.ts';
import { startRedis, type TestRedis } from './support/redis.ts';

const repo = fileURLToPath(new URL('../', import.meta.url));

describe('depesche lists create|rename|describe|delete', () => {
  let server: TestRedis;
  let redis: Redis;
  let store: RedisSubscriberStore;
  const run = (...args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const env = { ...process.env, REDIS_URL: server.url, DEPESCHE_CONFIG: '', DEFAULT_LIST: 'newsletter' };
      const child = spawn(process.execPath, ['bin/depesche.js', 'lists', ...args], { cwd: repo, env });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c));
      child.stderr.on('data', (c: Buffer) => (stderr += c));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });

  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis(server.url);
    store = new RedisSubscriberStore(redis, keyspace('depesche'));
  });
  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  it('explains each subcommand with --help', async () => {
    const help = await run('--help');
    expect(help.stdout).toMatch(/create[\s\S]*rename[\s\S]*describe[\s\S]*delete/);
    const rename = await run('rename', '--help');
    expect(rename.stdout).toContain('List-Id');
  });

  it('renames a list by its title, keeping the name, and deletes it only with the member count', async () => {
    expect((await run('create', 'briefing-en', '--title', 'Briefing (EN)', '--public')).code).toBe(0);
    await store.upsertMany([{ email: 'a@list.example' }, { email: 'b@list.example' }], 'briefing-en');
    expect(await run('rename', 'briefing-en', 'China AI Briefing', '--reason', 'new brand')).toMatchObject({ code: 0 });
    const shown = await run('describe', 'briefing-en', 'Weekly, in English', '--json');
    expect(JSON.parse(shown.stdout)).toMatchObject({ name: 'briefing-en', title: 'China AI Briefing', description: 'Weekly, in English', visibility: 'public', total: 2 });

    const wrong = await run('delete', 'briefing-en', '--confirm', '5', '--reason', 'retired');
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain('has 2 members, not 5');
    expect(wrong.stderr).not.toMatch(/\n\s+at /);
    expect(await run('delete', 'briefing-en', '--confirm', '2', '--reason', 'retired')).toMatchObject({ code: 0 });
    expect(await store.listExists('briefing-en')).toBe(false);
    expect((await store.findByEmail('a@list.example'))?.left['briefing-en']).toBeTruthy();
  });
});
