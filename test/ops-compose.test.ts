import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../src/config/schema.ts';

// js-yaml arrives with gray-matter; it has no bundled types, so describe the one call we use.
const yaml = createRequire(import.meta.url)('js-yaml') as { load(text: string): unknown };

const root = new URL('../', import.meta.url);
const read = (file: string) => readFileSync(new URL(file, root), 'utf8');

interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  container_name?: string;
  deploy?: unknown;
}

describe('docker-compose.yml', () => {
  const compose = yaml.load(read('docker-compose.yml')) as { services: Record<string, Service>; volumes: Record<string, unknown> };
  const { services } = compose;

  it('has Redis with AOF, noeviction and a named volume', () => {
    const redis = services.redis!;
    const command = ([] as string[]).concat(redis.command ?? []).join(' ');
    expect(command).toMatch(/--appendonly yes/);
    expect(command).toMatch(/--maxmemory-policy noeviction/);
    const volume = redis.volumes?.[0]?.split(':')[0];
    expect(volume).toBeDefined();
    expect(Object.keys(compose.volumes)).toContain(volume);
    expect(redis.healthcheck?.test.join(' ')).toContain('ping');
  });

  it('has a mail catcher that the default SMTP_URL points at', () => {
    expect(services.mailpit?.image).toMatch(/^axllent\/mailpit/);
    expect(services.app?.environment?.SMTP_URL).toContain('mailpit:1025');
  });

  it('runs the apps with a /healthz health check and a required ADMIN_TOKEN', () => {
    const app = services.app!;
    expect(app.command).toEqual(expect.arrayContaining(['serve']));
    expect(app.healthcheck?.test.join(' ')).toContain('/healthz');
    expect(app.environment?.ADMIN_TOKEN).toMatch(/^\$\{ADMIN_TOKEN:\?/);
    expect(app.environment?.DEPESCHE_SECRET).toMatch(/^\$\{DEPESCHE_SECRET:\?/);
    expect(app.environment?.REDIS_URL).toBe('redis://redis:6379');
    expect(app.depends_on?.redis?.condition).toBe('service_healthy');
  });

  it('has a worker that scales: no fixed name, no published ports', () => {
    const worker = services.worker!;
    expect(worker.command).toEqual(['worker']);
    expect(worker.container_name).toBeUndefined();
    expect(worker.ports).toBeUndefined();
    expect(worker.environment?.REDIS_URL).toBe('redis://redis:6379');
  });

  it('references only services and settings that exist', () => {
    const settings = new Set(Object.keys(configSchema.shape));
    for (const [name, service] of Object.entries(services)) {
      for (const dependency of Object.keys(service.depends_on ?? {})) expect(Object.keys(services), `${name} depends on ${dependency}`).toContain(dependency);
      for (const key of Object.keys(service.environment ?? {})) expect(settings.has(key), `${name} sets unknown setting ${key}`).toBe(true);
      expect(service.image ?? service.build, `${name} has an image or a build`).toBeDefined();
    }
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');

  it('is multi-stage on node:24-slim, without devDependencies, as a non-root user', () => {
    const stages = dockerfile.match(/^FROM\s+\S+/gm) ?? [];
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const from of stages) expect(from).toMatch(/node:24-slim/);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/^USER\s+(?!root\b)\w+/m);
    expect(dockerfile).toMatch(/ENTRYPOINT \["node", "bin\/depesche\.js"\]/);
  });

  it('copies every runtime folder the CLI imports from', () => {
    for (const folder of ['bin', 'src', 'worker', 'templates', 'locales', 'issues']) expect(dockerfile).toMatch(new RegExp(`^COPY ${folder} `, 'm'));
  });
});

describe('.env.example', () => {
  const text = read('.env.example');

  it('documents every setting of the config schema, each with a comment', () => {
    const lines = text.split('\n');
    for (const key of Object.keys(configSchema.shape)) {
      const index = lines.findIndex((line) => line.startsWith(`${key}=`));
      expect(index, `${key} is missing from .env.example`).toBeGreaterThan(0);
      // The comment may sit above a group of related keys (DKIM_*).
      let above = index - 1;
      while (above > 0 && /^[A-Z_]+=/.test(lines[above]!)) above--;
      expect(lines[above], `${key} has no comment above it`).toMatch(/^#/);
    }
  });

  it('holds only values the schema accepts', () => {
    const values = Object.fromEntries(
      text
        .split('\n')
        .filter((line) => /^[A-Z_]+=./.test(line))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    const parsed = configSchema.safeParse(values);
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
  });
});

describe('README.md', () => {
  it('has every setting in its configuration table', () => {
    const docs = read('README.md');
    for (const key of Object.keys(configSchema.shape)) expect(docs, key).toContain(`\`${key}\``);
  });
});
