/**
 * What the dev inbox checks in a mail's headers, by kind of mail.
 *
 * A campaign mail is bulk mail: Gmail and Yahoo want one-click unsubscribe (RFC 8058,
 * RFC 2369) and a List-Id (RFC 2919) on it. A transactional mail, such as the double
 * opt-in confirmation, goes to one person because of what they just did: it needs no List
 * headers (a confirmation mail must not even look like a newsletter), but it should say
 * it was sent automatically (Auto-Submitted, RFC 3834). Both need a Message-ID, a Date,
 * Content-Language and a text part next to the HTML.
 */

export type MailKind = 'campaign' | 'proof' | 'transactional';

export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface HeaderCheck {
  name: string;
  status: CheckStatus;
  detail: string;
}

/** What the checks read from a mail: its raw header lines and whether it has each part. */
export interface CheckedMail {
  headers: { key: string; value: string }[];
  hasHtml: boolean;
  hasText: boolean;
}

function values(mail: CheckedMail, name: string): string[] {
  const lower = name.toLowerCase();
  return mail.headers.filter((h) => h.key.toLowerCase() === lower).map((h) => h.value);
}

/** One value; `undefined` when missing, `null` when repeated. */
function one(mail: CheckedMail, name: string): string | undefined | null {
  const found = values(mail, name);
  return found.length === 1 ? found[0]! : found.length === 0 ? undefined : null;
}

/**
 * Depesche marks what it sends for a campaign (and proofs of it) with X-Depesche-Campaign;
 * any mail with List headers is bulk mail too. Everything else is transactional.
 */
export function mailKind(mail: CheckedMail): MailKind {
  const campaign = one(mail, 'X-Depesche-Campaign');
  if (campaign) return campaign.startsWith('proof-') ? 'proof' : 'campaign';
  if (values(mail, 'List-Id').length || values(mail, 'List-Unsubscribe').length) return 'campaign';
  return 'transactional';
}

function listChecks(mail: CheckedMail): HeaderCheck[] {
  const checks: HeaderCheck[] = [];
  const lu = one(mail, 'List-Unsubscribe');
  if (lu === undefined) checks.push({ name: 'List-Unsubscribe', status: 'fail', detail: 'missing' });
  else if (lu === null) checks.push({ name: 'List-Unsubscribe', status: 'fail', detail: 'appears more than once' });
  else {
    const uris = [...lu.matchAll(/<([^>]+)>/g)].map((m) => m[1]!);
    const https = uris.find((u) => u.startsWith('https://'));
    const http = uris.find((u) => u.startsWith('http://'));
    const mailto = uris.find((u) => u.toLowerCase().startsWith('mailto:'));
    if (https) checks.push({ name: 'List-Unsubscribe URL', status: 'pass', detail: https });
    else if (http) checks.push({ name: 'List-Unsubscribe URL', status: 'warn', detail: `${http} (http is fine in dev; Gmail wants https in production)` });
    else checks.push({ name: 'List-Unsubscribe URL', status: 'fail', detail: `no <https://…> URI in "${lu}"` });
    checks.push(
      mailto
        ? { name: 'List-Unsubscribe mailto', status: 'pass', detail: mailto }
        : { name: 'List-Unsubscribe mailto', status: 'fail', detail: `no <mailto:…> URI in "${lu}"` },
    );
  }
  const lup = one(mail, 'List-Unsubscribe-Post');
  checks.push(
    lup === 'List-Unsubscribe=One-Click'
      ? { name: 'List-Unsubscribe-Post', status: 'pass', detail: lup }
      : { name: 'List-Unsubscribe-Post', status: 'fail', detail: lup == null ? 'missing or repeated' : `must be exactly "List-Unsubscribe=One-Click", is "${lup}"` },
  );
  const listId = one(mail, 'List-Id');
  checks.push(
    listId && /<[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]+\.[A-Za-z0-9.-]+>\s*$/.test(listId)
      ? { name: 'List-Id', status: 'pass', detail: listId }
      : { name: 'List-Id', status: 'fail', detail: listId ? `"${listId}" is not of the form "name <id.domain>" (RFC 2919)` : 'missing or repeated' },
  );
  return checks;
}

function transactionalChecks(mail: CheckedMail): HeaderCheck[] {
  const auto = one(mail, 'Auto-Submitted');
  return [
    { name: 'List headers', status: 'pass', detail: 'not needed: a transactional mail goes to one person because of what they did' },
    auto && auto.toLowerCase() !== 'no'
      ? { name: 'Auto-Submitted', status: 'pass', detail: auto }
      : { name: 'Auto-Submitted', status: 'warn', detail: 'missing: "Auto-Submitted: auto-generated" keeps autoresponders from answering (RFC 3834)' },
  ];
}

function commonChecks(mail: CheckedMail): HeaderCheck[] {
  const messageId = one(mail, 'Message-ID');
  const date = one(mail, 'Date');
  const lang = one(mail, 'Content-Language');
  const type = one(mail, 'Content-Type') ?? '';
  return [
    messageId && /^<[^<>\s@]+@[^<>\s@]+>$/.test(messageId)
      ? { name: 'Message-ID', status: 'pass', detail: messageId }
      : { name: 'Message-ID', status: 'fail', detail: messageId ?? 'missing or repeated' },
    date && !Number.isNaN(Date.parse(date)) ? { name: 'Date', status: 'pass', detail: date } : { name: 'Date', status: 'fail', detail: date ?? 'missing or repeated' },
    lang ? { name: 'Content-Language', status: 'pass', detail: lang } : { name: 'Content-Language', status: 'fail', detail: 'missing' },
    /multipart\/alternative/i.test(type) && mail.hasHtml && mail.hasText
      ? { name: 'multipart/alternative', status: 'pass', detail: 'HTML and text parts' }
      : { name: 'multipart/alternative', status: 'fail', detail: `Content-Type is "${type}"` },
  ];
}

/** The checks for a mail of its kind; `warn` is for what works in dev but not in production. */
export function checkHeaders(mail: CheckedMail, kind: MailKind = mailKind(mail)): HeaderCheck[] {
  return [...(kind === 'transactional' ? transactionalChecks(mail) : listChecks(mail)), ...commonChecks(mail)];
}
