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

function nonNegativeInteger(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`"${value}" is not a whole number.`);
  return Number(value);
}

/** Ops changes are logged with who made them and why. */
const reason: OptionSpec = { flags: '--reason <text>', description: 'why (logged with who made the change)' };
const by: OptionSpec = { flags: '--by <name>', description: 'who, if not the login name' };

const subscribers = () => import('./commands/subscribers.ts');
const campaignControl = () => import('./commands/campaign-control.ts');
const lists = () => import('./commands/lists.ts');

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
    description:
      'Check issues for what their own files cause: size, alt texts, preheader, links, raw HTML, both editions alike in structure and language, wide tables, the Impressum. ' +
      'Exit code 1 on an error; warnings alone exit 0. Each rule: README, "Rules that depesche lint checks".',
    arguments: [{ name: '[slug...]', description: 'issues to check (folder names under issues/); all when omitted' }],
    options: [
      contentDir,
      { flags: '-t, --templates', description: 'check the templates and locale files instead: client support (caniemail), the layout without <style> (GMX, WEB.DE), locale keys' },
    ],
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
    description: 'Manage subscribers and lists in Redis: import, export, add, remove, forget, show, reactivate, set-lang, visibility, lists.',
    commands: [
      {
        name: 'import',
        description: 'Import a CSV (header: email, optional name, lang, status) into a list. Streams; safe to re-run.',
        arguments: [{ name: '<file>', description: 'CSV file with a header line' }],
        options: [
          { flags: '-l, --list <name>', description: 'list to add the subscribers to (created if new, private until made public); readers who left it are not put back', required: true },
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
        description: 'Add one subscriber to a list, or update their name and language. Never lifts an unsubscribe or puts back someone who left the list.',
        arguments: [{ name: '<email>', description: 'address' }],
        options: [
          { flags: '-l, --list <name>', description: 'list to add them to (created if new, private until made public)', required: true },
          { flags: '--name <name>', description: 'name used in greetings' },
          { flags: '--lang <lang>', description: 'language of the issues they receive (new subscribers default to de)', choices: LANGS },
          { flags: '--status <status>', description: 'status of a new subscriber', choices: SUBSCRIBER_STATUSES, default: 'active' },
          { flags: '--rejoin', description: 'put them back on the list although they left it (only when they asked you to); needs --reason' },
          reason,
          by,
        ],
        load: lazy(subscribers, 'add'),
        usesDevStack: true,
      },
      {
        name: 'remove',
        description: 'Take a subscriber off a list (remembered: imports do not put them back). --unsubscribe also stops every send to them.',
        arguments: [{ name: '<email>', description: 'address' }],
        options: [
          { flags: '-l, --list <name>', description: 'list to remove them from', required: true },
          { flags: '--unsubscribe', description: 'also mark them unsubscribed, so no list sends to them and re-imports do not bring them back' },
          { ...reason, default: 'removed by ops' },
          by,
        ],
        load: lazy(subscribers, 'remove'),
        usesDevStack: true,
      },
      {
        name: 'forget',
        description: 'Erase a subscriber on request (GDPR Art. 17): record, consent log and list memberships. The ops log keeps that it happened, by whom and why.',
        arguments: [{ name: '<email>', description: 'address' }],
        options: [{ flags: '--yes', description: 'confirm the erasure; it cannot be undone', required: true }, { ...reason, required: true }, by],
        load: lazy(subscribers, 'forget'),
        usesDevStack: true,
      },
      {
        name: 'show',
        description: 'Show one subscriber as JSON: status, name, lang, lists, consent in force; --consent adds the whole consent history (an Art. 15 answer).',
        arguments: [{ name: '<email>', description: 'address (or subscriber id)' }],
        options: [{ flags: '--consent', description: 'include every consent-log event, each consent record with the exact wording shown' }],
        load: lazy(subscribers, 'show'),
        usesDevStack: true,
      },
      {
        name: 'reactivate',
        description: 'Move a bounced subscriber back to active (logged with who and why). Unsubscribes and complaints are never reactivated: only the reader can sign up again.',
        arguments: [{ name: '<email>', description: 'address' }],
        options: [{ ...reason, required: true }, by],
        load: lazy(subscribers, 'reactivate'),
        usesDevStack: true,
      },
      {
        name: 'set-lang',
        description: 'Change the language a subscriber receives (logged with who and why).',
        arguments: [
          { name: '<email>', description: 'address' },
          { name: '<lang>', description: 'de or en', choices: LANGS },
        ],
        options: [{ ...reason, required: true }, by],
        load: lazy(subscribers, 'setLang'),
        usesDevStack: true,
      },
      {
        name: 'visibility',
        description: 'Make a list public (the sign-up form may name it, the preference centre shows it) or private.',
        arguments: [
          { name: '<list>', description: 'list name' },
          { name: '<visibility>', description: 'public or private', choices: ['public', 'private'] },
        ],
        options: [{ ...reason, default: 'set by ops' }, by],
        load: lazy(subscribers, 'visibility'),
        usesDevStack: true,
      },
      {
        name: 'reindex',
        description: 'Index every stored subscriber for the console search (once after upgrading; again after a crash between a write and its index entry). Safe while other processes write.',
        load: lazy(subscribers, 'reindex'),
        usesDevStack: true,
      },
      {
        name: 'lists',
        description: 'Show every list with its visibility and its members counted by status and language.',
        options: [{ flags: '--json', description: 'print JSON instead of a table' }],
        load: lazy(subscribers, 'lists'),
        usesDevStack: true,
      },
    ],
  },
  {
    name: 'lists',
    description: 'Manage lists as a whole: create, rename (a new title; the name and the List-Id stay), describe, delete.',
    commands: [
      {
        name: 'create',
        description: 'Create an empty list (private unless --public).',
        arguments: [{ name: '<list>', description: 'list name: 1–64 letters, digits, dot, dash or underscore; it never changes' }],
        options: [
          { flags: '--title <text>', description: 'title shown in the console' },
          { flags: '--description <text>', description: 'what the list is for' },
          { flags: '--public', description: 'the sign-up form may name it' },
          { ...reason, default: 'created by ops' },
          by,
        ],
        load: lazy(lists, 'create'),
        usesDevStack: true,
      },
      {
        name: 'rename',
        description: "Give a list a new title. Its name (what --list and the sign-up form use) and its List-Id header stay, so readers' mail filters keep working.",
        arguments: [
          { name: '<list>', description: 'list name' },
          { name: '<title>', description: 'the new title' },
        ],
        options: [{ ...reason, default: 'renamed by ops' }, by],
        load: lazy(lists, 'rename'),
        usesDevStack: true,
      },
      {
        name: 'describe',
        description: 'Show a list (title, description, visibility, counts, campaigns not over on it), or set its description.',
        arguments: [
          { name: '<list>', description: 'list name' },
          { name: '[description]', description: 'new description ("" clears it); omitted: only show' },
        ],
        options: [{ ...reason, default: 'described by ops' }, by, { flags: '--json', description: 'print JSON' }],
        load: lazy(lists, 'describe'),
        usesDevStack: true,
      },
      {
        name: 'delete',
        description:
          'Delete a list: every member is taken off it (remembered as having left it, so no import under the name brings them back); the subscribers stay. ' +
          'Refused while a campaign to it is not over, and for DEFAULT_LIST.',
        arguments: [{ name: '<list>', description: 'list name' }],
        options: [
          { flags: '--confirm <members>', description: 'the number of members the list has now (see `lists describe`); required', parse: nonNegativeInteger, required: true },
          reason,
          by,
        ],
        load: lazy(lists, 'remove'),
        usesDevStack: true,
      },
    ],
  },
  {
    name: 'send',
    description:
      'Claim the issue for the list, compile each language once, lint those editions, freeze them into a campaign and queue it for the workers. ' +
      'Prints the campaign id. Refused while another campaign of the issue to the list is live, or once one reached it (see --again, --rest).',
    arguments: [{ name: '<slug>', description: 'issue folder name under issues/' }],
    options: [
      { flags: '-l, --list <name>', description: 'subscriber list to send to', required: true },
      { flags: '--at <time>', description: 'schedule it: 2026-11-27T07:00+01:00, 2026-11-27T07:00 Europe/Berlin, or a local time read in TZ (said so)' },
      { flags: '--rate <msgs/s>', description: 'messages per second for this campaign (SEND_RATE still caps all campaigns together)', parse: positiveInteger },
      { flags: '--dry-run', description: 'only report how many subscribers would get which language (and, with --rest, how many are left)' },
      { flags: '--again', description: 'send to everyone on the list once more, although an earlier campaign of this issue reached it' },
      { flags: '--rest', description: 'send only to readers no earlier campaign of this issue reached (sent, bounced or unclear), e.g. after a cancel' },
      { flags: '--allow-dev-urls', description: 'send although PUBLIC_URL points at this machine or MAIL_FROM is at localhost (a test send)' },
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
    name: 'update',
    description:
      "Fix a mistake mid-send: re-compile and lint the issue's current files and replace the frozen editions of a paused or scheduled campaign. " +
      'Readers already sent to are never mailed again; the rest get the corrected text after `depesche resume`.',
    arguments: [{ name: '<id>', description: 'campaign id (pause it first if it is sending)' }],
    load: lazy(() => import('./commands/update.ts'), 'update'),
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
    name: 'campaigns',
    description: 'Housekeeping of finished campaigns',
    commands: [
      {
        name: 'prune',
        description:
          'Reduce the ledgers of campaigns that ended (done or cancelled) more than LEDGER_RETENTION_DAYS ago (default 365) to their counts and the bounced, failed and unclear readers. ' +
          'Frozen editions stay. Workers do it once a day as well; a pruned campaign cannot be the base of a send to the rest.',
        options: [
          { flags: '--dry-run', description: 'only list the campaigns that would be pruned and their ledger sizes' },
          { flags: '--older-than <days>', description: 'ended at least this many days ago (default: LEDGER_RETENTION_DAYS)', parse: positiveInteger },
          { flags: '--json', description: 'print JSON' },
        ],
        load: lazy(() => import('./commands/campaigns.ts'), 'prune'),
        usesDevStack: true,
      },
    ],
  },
  {
    name: 'publish',
    description: 'Put an issue in the public archive without sending it: lint, compile once, freeze. The archive otherwise shows only what campaigns finished sending.',
    arguments: [{ name: '[slug]', description: 'the issue folder under issues/' }],
    options: [
      { flags: '--withdraw', description: 'take the published issue off the archive again (sent campaigns stay)' },
      { flags: '--list', description: 'list the issues published this way' },
      contentDir,
    ],
    load: lazy(() => import('./commands/publish.ts'), 'publish'),
    usesDevStack: true,
  },
  {
    name: 'worker',
    description:
      'Run a campaign worker: sends batches from Redis over SMTP until SIGTERM, then finishes what is in flight ' +
      '(waiting for Redis at most SHUTDOWN_TIMEOUT_MS). Run as many as you like.',
    load: lazy(() => import('./commands/worker.ts'), 'worker'),
    usesDevStack: true,
  },
  {
    name: 'inbound',
    description:
      'Receive what comes back after a send: bounces (DSNs), spam complaints (ARF) and mailto unsubscribes, over SMTP for RETURN_PATH_DOMAIN and the unsubscribe mailto, ' +
      'and from an IMAP mailbox when IMAP_URL is set. Runs until SIGTERM.',
    options: [
      { flags: '--smtp-port <port>', description: 'SMTP listener port (INBOUND_SMTP_PORT, default 2525; 25 to be the MX yourself)', parse: port },
      { flags: '--smtp-host <host>', description: 'SMTP listener address (INBOUND_SMTP_HOST, default 127.0.0.1)' },
      { flags: '--no-smtp', description: 'no SMTP listener (only poll IMAP_URL)' },
      { flags: '--no-imap', description: 'do not poll IMAP_URL even when it is set' },
    ],
    load: lazy(() => import('./commands/inbound.ts'), 'inbound'),
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
    name: 'admin',
    description: 'Admin app housekeeping: sign-in sessions.',
    commands: [
      {
        name: 'logout-all',
        description: 'End every admin sign-in session, in every app process. Scripts with the Bearer token are not affected; rotate ADMIN_TOKEN for that.',
        load: lazy(() => import('./commands/admin.ts'), 'logoutAll'),
        usesDevStack: true,
      },
    ],
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
