import { SAMPLE_LIST, startDevStack, type DevStack } from '../../app/dev-stack.ts';

function banner(stack: DevStack): string {
  const { urls } = stack;
  const rows: [string, string][] = [
    ['Preview', urls.preview],
    ['Dev inbox', urls.inbox],
    ['Campaigns', `${urls.admin}/campaigns`],
    ['Subscribers', `${urls.admin}/subscribers (and /lists, /import)`],
    ['Ops API', urls.api],
    ['Queues', urls.queues],
    ['Metrics', urls.metrics],
    ['Public app', urls.public],
    ['Archive', urls.archive],
    ['SMTP (inbox)', urls.smtp],
    ['Redis', urls.redis],
  ];
  const { de, en } = stack.sample;
  return [
    '',
    'Depesche dev is running (loopback only)',
    '',
    ...rows.map(([label, url]) => `  ${label.padEnd(13)} ${url}`),
    '',
    `The list "${SAMPLE_LIST}" has ${de} German and ${en} English active readers. Send an issue to it from`,
    `Campaigns, or from another terminal in this folder (depesche finds this dev stack by itself):`,
    '',
    `  npx depesche send <slug> --list ${SAMPLE_LIST}`,
    '',
    'Elsewhere, load its settings first: set -a; . .depesche/dev.env; set +a',
    'Every mail lands in the dev inbox and stays there across restarts. Ctrl-C stops everything.',
    '',
  ].join('\n');
}

/** Resolves on the first SIGINT or SIGTERM; a second one exits at once. */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      const force = () => {
        process.stderr.write('\nforced exit\n');
        process.exit(130);
      };
      process.once('SIGINT', force);
      process.once('SIGTERM', force);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/** `depesche dev` (options in ../registry.ts). */
export async function dev(options: { port: number }): Promise<void> {
  const stack = await startDevStack({ port: options.port });
  process.stdout.write(banner(stack));
  const signal = await untilSignal();
  process.stderr.write(`\n${signal}: stopping the apps, the worker, the inbox and Redis …\n`);
  await stack.close();
  process.stderr.write('stopped\n');
  // Anything a library left open must not keep a stopped dev server alive.
  setTimeout(() => process.exit(0), 2_000).unref();
}
