import { PublicationStore } from '../../campaign/publications.ts';
import { keyspace, type Config } from '../../config/index.ts';
import { publicUrls } from '../../core/public-urls.ts';
import { DepescheError } from '../../errors.ts';
import { refuseLintErrors } from '../../render/lint/report.ts';
import { withRedis } from '../redis.ts';

function withPublications<T>(fn: (store: PublicationStore, config: Config) => Promise<T>): Promise<T> {
  return withRedis((redis, config) => fn(new PublicationStore(redis, keyspace(config.DEPESCHE_PREFIX)), config));
}

/** `depesche publish` (options in ../registry.ts). */
export async function publish(slug: string | undefined, options: { withdraw?: boolean; list?: boolean; dir?: string }): Promise<number | void> {
  if (options.list) {
    return withPublications(async (store) => {
      const all = await store.list();
      if (all.length === 0) process.stdout.write('Nothing published with `depesche publish` yet.\n');
      for (const p of all) process.stdout.write(`${p.slug}  ${p.langs.join(',')}  published ${new Date(p.publishedAt).toISOString()}\n`);
    });
  }
  if (!slug) throw new DepescheError('E_INPUT', 'Name the issue to publish.', { hint: 'depesche publish <slug>, or --list to see what is published.' });
  if (options.withdraw) {
    return withPublications(async (store) => {
      const removed = await store.withdraw(slug);
      process.stdout.write(removed ? `${slug}: withdrawn from the archive\n` : `${slug} was not published with \`depesche publish\`\n`);
      return removed ? 0 : 1;
    });
  }
  // MJML and friends load only when something is compiled, not for --list or --withdraw.
  const { compilerFor } = await import('./build.ts');
  const { compiler } = compilerFor(options);
  // Compiled once: what is frozen is exactly what was linted.
  const { editions, findings } = await compiler.compileForSend(slug);
  refuseLintErrors(slug, findings, 'publishing');
  return withPublications(async (store, config) => {
    const published = await store.publish(slug, editions);
    const urls = publicUrls(config.PUBLIC_URL);
    process.stdout.write(`${slug}: published (${published.langs.join(', ')}); the archive shows it within a minute:\n`);
    for (const lang of published.langs) process.stdout.write(`  ${urls.edition(slug, lang)}\n`);
  });
}
