import type { Command } from 'commander';
import { PublicationStore } from '../../campaign/publications.ts';
import { keyspace, type Config } from '../../config/index.ts';
import { publicUrls } from '../../core/public-urls.ts';
import { DepescheError } from '../../errors.ts';
import { action } from '../program.ts';
import { withRedis } from '../redis.ts';

function withPublications<T>(fn: (store: PublicationStore, config: Config) => Promise<T>): Promise<T> {
  return withRedis((redis, config) => fn(new PublicationStore(redis, keyspace(config.DEPESCHE_PREFIX)), config));
}

export function register(program: Command): void {
  program
    .command('publish')
    .description('Put an issue in the public archive without sending it: lint, compile once, freeze. The archive otherwise shows only what campaigns finished sending.')
    .argument('[slug]', 'the issue folder under issues/')
    .option('--withdraw', 'take the published issue off the archive again (sent campaigns stay)')
    .option('--list', 'list the issues published this way')
    .option('--dir <dir>', 'content folder (default CONTENT_DIR)')
    .action(
      action(async (slug: string | undefined, options: { withdraw?: boolean; list?: boolean; dir?: string }) => {
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
        const findings = await compiler.lint(slug);
        const errors = findings.filter((f) => f.severity === 'error');
        if (errors.length > 0) {
          const lines = errors.map((f) => `  ${f.file ? `${f.file}${f.line ? `:${f.line}` : ''}: ` : ''}${f.message}`);
          throw new DepescheError('E_LINT', `Issue ${slug} has ${errors.length} lint error(s); not publishing:\n${lines.join('\n')}`, { hint: `Fix them and check with \`depesche lint ${slug}\`.` });
        }
        const editions = await compiler.compile(slug);
        return withPublications(async (store, config) => {
          const published = await store.publish(slug, editions);
          const urls = publicUrls(config.PUBLIC_URL);
          process.stdout.write(`${slug}: published (${published.langs.join(', ')}); the archive shows it within a minute:\n`);
          for (const lang of published.langs) process.stdout.write(`  ${urls.edition(slug, lang)}\n`);
        });
      }),
    );
}
