import { InvalidArgumentError } from 'commander';
import { LANGS } from '../core/lang.ts';
import { SUBSCRIBER_STATUSES, type SubscriberStatus } from '../subscribers/types.ts';
import { lazy, port, positiveInteger, type CommandSpec, type OptionSpec } from './program.ts';

/**
 * Every `depesche` command: its name, description, arguments and options, and where its
 * code lives. This file must stay light (commander, a few constants): `--help` reads only
 * this, and a command's module is imported when it runs. To add a command, add an entry
 * here and export its action from a module under commands/; the order here is the order
 * `depesche --help` shows.
 */

const contentDir: OptionSpec = {
  flags: '-d, --dir <dir>',
  description: 'content directory holding issues/, templates/ and locales/ (default: CONTENT_DIR or .)',
};

function statusList(value: string): SubscriberStatus[] {
  return value.split(',').map((raw) => {
    const status = raw.trim().toLowerCase();
    if (!(SUBSCRIBER_STATUSES as readonly string[]).includes(status)) {
      throw new InvalidArgumentError(`"${raw}" is not a status; use ${SUBSCRIBER_STATUSES.join(', ')}, comma-separated.`);
    }
    return status as SubscriberStatus;
  });
}

const subscribers = () => import('./commands/subscribers.ts');
const campaignControl = () => import('./commands/campaign-control.ts');

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'build',
    description: 'Compile issues to email HTML, plain text and MJML, one file each per language',
    arguments: [{ name: '[slug...]', description: 'issues to build (folder names under issues/); all when omitted' }],
    options: [{ flags: '-o, --out <dir>', description: 'output directory; files go to <dir>/<slug>/<lang>.html|.txt|.mjml', default: 'dist' }, contentDir],
    load: lazy(() => import('./commands/build.ts'), 'build'),
  },
  {
    name: 'lint',
    description: 'Check issues for email correctness: size, lang, alt texts, preheader, links, DE/EN parity, Impressum, client CSS support',
    arguments: [{ name: '[slug...]', description: 'issues to check (folder names under issues/); all when omitted' }],
    options: [contentDir],
    load: lazy(() => import('./commands/lint.ts'), 'lint'),
  },
  {
    name: 'preview',
    description: 'Preview issues in the browser with live reload: both languages, desktop and mobile, text, lint, dark mode and proof sends',
    options: [
      { flags: '-p, --port <port>', description: 'port to listen on', parse: port, default: 4000 },
      { flags: '--host <host>', description: 'address to bind; the preview has no login, so keep it on loopback', default: '127.0.0.1' },
      contentDir,
    ],
    load: lazy(() => import('./commands/preview.ts'), 'preview'),
    usesDevStack: true,
  },
  {
    name: 'test-send',
    description: 'Send a proof of an issue over SMTP_URL: the headers of a real send, with "[Test]" before the subject',
    arguments: [{ name: '<slug>', description: 'the issue to send (its folder name under issues/)' }],
    options: [
      { flags: '--to <address>', description: 'who gets the proof, e.g. editor@example.org', required: true },
      { flags: '--lang <lang>', description: 'which edition: de, en or all', default: 'all' },
      contentDir,
    ],
    load: lazy(() => import('./commands/test-send.ts'), 'testSend'),
    usesDevStack: true,
  },
  {
    name: 'subscribers',
    description: 'Manage subscribers and lists in Redis: import, export, add, remove, forget, show, lists.',
    commands: [
      {
        name: 'import',
        description: 'Import a CSV (header: email, optional name, lang, status) into a list. Streams; safe to re-run.',
        arguments: [{ name: '<file>', description: 'CSV file with a header line' }],
        options: [
          { flags: '-l, --list <name>', description: 'list to add the subscribers to (created if new)', required: true },
          { flags: '--default-lang <lang>', description: 'language for rows without a lang column value', choices: LANGS, default: 'de' },
          {
            flags: '--status <status>',
            description: 'status of new subscribers whose row has none (consent obtained elsewhere: active)',
            choices: SUBSCRIBER_STATUSES,
            default: 'active',
          },
          {
            flags: '--encoding <name>',
            description: 'the file\'s encoding, e.g. windows-1252 (Excel on Western European Windows), utf-8, utf-16le; auto tells UTF-8 and Windows-1252 apart',
            default: 'auto',
          },
          { flags: '--report <file>', description: 'where to write rejected rows (default: <file>.rejected.csv, only when some are rejected)' },
        ],
        load: lazy(subscribers, 'importFile'),
        usesDevStack: true,
        // V8's default young generation (up to 3 × 32 MB here) alone took the importer to
        // 265 MB of RSS; with 4 MB semi-spaces a million rows import in about 135 MB at the
        // same CPU per row (bench/import.ts).
        v8Flags: ['--max-semi-space-size=4'],
      },
      {
        name: 'export',
        description: 'Write a list as CSV (email, name, lang, status) in join order; imports back unchanged. Formulas are neutralised.',
        options: [
          { flags: '-l, --list <name>', description: 'list to export', required: true },
          { flags: '-o, --out <file>', description: 'write to this file instead of stdout' },
          { flags: '--status <statuses>', description: `only these statuses, comma-separated (${SUBSCRIBER_STATUSES.join(', ')})`, parse: statusList },
        ],
        load: lazy(subscribers, 'exportList'),
        usesDevStack: true,
      },
      {
        name: 'add',
        description: 'Add one subscriber to a list, or update their name and language.',
        arguments: [{ name: '<email>', description: 'address' }],
        options: [
          { flags: '-l, --list <name>', description: 'list to add them to (created if new)', required: true },
          { flags: '--name <name>', description: 'name used in greetings' },
          { flags: '--lang <lang>', description: 'language of the issues they receive (new subscribers default to de)', choices: LANGS },
          { flags: '--status <status>', description: 'status of a new subscriber', choices: SUBSCRIBER_STATUSES, default: 'active' },
        ],
        load: lazy(subscribers, 'add'),
        usesDevStack: true,
      },
      {
        name: 'remove',
        description: 'Take a subscriber off a list. Keeps their record; --unsubscribe also stops every send to them.',
        arguments: [{ name: '<email>', description: 'address' }],
        options: [
          { flags: '-l, --list <name>', description: 'list to remove them from', required: true },
          { flags: '--unsubscribe', description: 'also mark them unsubscribed, so no list sends to them and re-imports do not bring them back' },
        ],
        load: lazy(subscribers, 'remove'),
        usesDevStack: true,
      },
      {
        name: 'forget',
        description: 'Erase a subscriber on request: record, consent log and list memberships. A later import can add them again.',
        arguments: [{ name: '<email>', description: 'address' }],
        options: [{ flags: '--yes', description: 'confirm the erasure; it cannot be undone', required: true }],
        load: lazy(subscribers, 'forget'),
        usesDevStack: true,
      },
      {
        name: 'show',
        description: 'Show one subscriber with their lists, consent record and consent log, as JSON.',
        arguments: [{ name: '<email>', description: 'address' }],
        load: lazy(subscribers, 'show'),
        usesDevStack: true,
      },
      {
        name: 'lists',
        description: 'Show every list with its members counted by status and language.',
        options: [{ flags: '--json', description: 'print JSON instead of a table' }],
        load: lazy(subscribers, 'lists'),
        usesDevStack: true,
      },
    ],
  },
  {
    name: 'send',
    description: 'Lint and compile an issue once per language, freeze it into a campaign for a list, and queue it for the workers. Prints the campaign id.',
    arguments: [{ name: '<slug>', description: 'issue folder name under issues/' }],
    options: [
      { flags: '-l, --list <name>', description: 'subscriber list to send to', required: true },
      { flags: '--at <time>', description: 'schedule the send for an ISO 8601 time, e.g. 2026-11-27T07:00:00+01:00' },
      { flags: '--rate <msgs/s>', description: 'messages per second for this campaign (SEND_RATE still caps all campaigns together)', parse: positiveInteger },
      { flags: '--dry-run', description: 'only report how many subscribers would get which language' },
      { flags: '--again', description: 'send even though this issue already went to this list' },
    ],
    load: lazy(() => import('./commands/send.ts'), 'send'),
    usesDevStack: true,
  },
  {
    name: 'status',
    description: 'Show campaigns: total, sent, failed, bounced, skipped, unclear, remaining, rate and ETA. Without an id, lists recent ones.',
    arguments: [{ name: '[id]', description: 'campaign id' }],
    options: [
      { flags: '-f, --follow', description: 'keep showing progress until the campaign is done or cancelled' },
      { flags: '--unclear', description: 'list the recipients whose delivery is unclear (resend with `depesche resend <id> --unclear`)' },
      { flags: '--json', description: 'print JSON' },
    ],
    load: lazy(() => import('./commands/status.ts'), 'status'),
    usesDevStack: true,
  },
  {
    name: 'pause',
    description: 'Pause a campaign; every worker stops before its next recipient. Resume with `depesche resume`.',
    arguments: [{ name: '<id>', description: 'campaign id' }],
    options: [{ flags: '--reason <text>', description: 'why, shown by `depesche status`' }],
    load: lazy(campaignControl, 'pause'),
    usesDevStack: true,
  },
  {
    name: 'resume',
    description: 'Resume a paused campaign (also one that paused itself after connection failures).',
    arguments: [{ name: '<id>', description: 'campaign id' }],
    load: lazy(campaignControl, 'resume'),
    usesDevStack: true,
  },
  {
    name: 'cancel',
    description: 'Cancel a campaign for good; nobody not yet sent to gets it. Counts stay for the record.',
    arguments: [{ name: '<id>', description: 'campaign id' }],
    load: lazy(campaignControl, 'cancel'),
    usesDevStack: true,
  },
  {
    name: 'resend',
    description: 'Send on purpose to the recipients whose delivery is unclear after a crash (some may get it twice).',
    arguments: [{ name: '<id>', description: 'campaign id' }],
    options: [{ flags: '--unclear', description: 'resend to the unclear recipients (required: the only kind of resend there is)' }],
    load: lazy(() => import('./commands/resend.ts'), 'resend'),
    usesDevStack: true,
  },
  {
    name: 'worker',
    description: 'Run a campaign worker: sends batches from Redis over SMTP until SIGTERM, then finishes what is in flight. Run as many as you like.',
    load: lazy(() => import('./commands/worker.ts'), 'worker'),
    usesDevStack: true,
  },
  {
    name: 'serve',
    description: 'Run the public app (subscribe, unsubscribe, preferences, archive) and the admin app (preview, ops API, queue dashboard, metrics)',
    options: [
      { flags: '--port <port>', description: 'public app port (PORT, default 3000)', parse: port },
      { flags: '--host <host>', description: 'public app address (HOST, default 0.0.0.0)' },
      { flags: '--admin-port <port>', description: 'admin app port (ADMIN_PORT, default 3001)', parse: port },
      { flags: '--admin-host <host>', description: 'admin app address (ADMIN_HOST, default 127.0.0.1); any other than loopback needs ADMIN_TOKEN' },
    ],
    load: lazy(() => import('./commands/serve.ts'), 'serve'),
  },
  {
    name: 'dev',
    description:
      'Run the whole loop on this machine: preview, dev inbox, ops API and queue dashboard on --port, the public app on --port + 1, ' +
      'a worker, and Redis (REDIS_URL, or a private redis-server)',
    options: [{ flags: '-p, --port <port>', description: 'port of the admin app (preview, /inbox, /api, /queues); the public app takes the next one', parse: port, default: 4000 }],
    load: lazy(() => import('./commands/dev.ts'), 'dev'),
  },
];
