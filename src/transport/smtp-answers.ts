/**
 * What an SMTP server's answer means for the reader it was about: one table, read top to
 * bottom, first row wins. Both sides of the return path use it: the worker for the answer
 * it got in the SMTP dialogue, and `depesche inbound` for the Status and Diagnostic-Code a
 * delivery report (DSN) or a provider's webhook passes on from a server further along.
 *
 * The enhanced status code (RFC 3463, `class.subject.detail`) decides by default; the
 * basic three-digit code only where a server sends no enhanced one. Text decides where
 * providers use codes against their meaning, so the text rows come first:
 * - a policy or reputation verdict ("blocked", "spam", "reputation", …) is the sender's
 *   problem whatever code carries it. This row wins over the mailbox rows on purpose:
 *   taking a blocklisting for dead mailboxes would wipe a whole list, while the opposite
 *   mistake keeps one dead address a little longer;
 * - a refusal of the session (greeting, login, our sender address) is about our setup;
 * - "user unknown", "mailbox unavailable" and the like mean the mailbox is gone even under
 *   a code that says otherwise (Office 365's `550 5.4.1 … Access denied`, Yahoo's
 *   `554 delivery error: dd …`, Outlook.com's `550 5.5.0 … mailbox unavailable`).
 *
 * This module is pure: no I/O, no settings.
 */

/** What the answer says about the mailbox or the sender, whether the failure is permanent or not. */
export type AnswerMeaning =
  /** The mailbox or its domain does not exist or is closed for good. */
  | 'mailbox-gone'
  /** The mailbox exists but cannot take mail now (full, over quota). */
  | 'mailbox-full'
  /** Permanent, but nothing says whose problem it is. */
  | 'unrecognized'
  /** The receiving side refuses the sender or the content: reputation, blocklist, authentication, spam verdict, size. */
  | 'policy'
  /** The receiving side refuses our session: greeting, login, sender address, protocol. Our configuration. */
  | 'setup'
  /** A temporary condition with nothing more specific to say (busy, greylisting, local error). */
  | 'busy';

/**
 * What to do about one answer.
 * - `hard`: the mailbox is gone; the reader bounces.
 * - `soft`: a permanent refusal that may pass (a full mailbox) or that names no cause; counted
 *   per reader, and only repeated ones bounce the reader.
 * - `policy`: the sender's problem (reputation, content, authentication); the reader stays
 *   active, the message counts as failed, and many in a row pause the campaign.
 * - `setup`: our own configuration is refused (login, sender address); the reader stays
 *   active; retrying cannot help until ops fix it.
 * - `transient`: 4xx; retry later.
 * - `connection`: no answer, and the message had not left: retry is safe.
 * - `unknown`: no answer after the message had left: it may have arrived.
 */
export type AnswerKind = 'hard' | 'soft' | 'policy' | 'setup' | 'transient' | 'connection' | 'unknown';

export interface SmtpAnswer {
  /** Basic reply code, e.g. 550. */
  code?: number;
  /** Enhanced status code, e.g. `5.1.1`; read from `text` when absent. */
  status?: string;
  /** The reply text as the server sent it (multi-line answers joined). */
  text: string;
  /** The command answered (`RCPT TO`, `DATA`, `MAIL FROM`, `CONN`, …), when known. */
  command?: string;
}

export interface AnswerClass {
  kind: AnswerKind;
  meaning: AnswerMeaning | 'no-answer';
  /** Id of the table row (or fault rule) that decided, for logs and tests. */
  rule: string;
  code?: number;
  /** The enhanced status code that was read, if any. */
  status?: string;
  /** The answer on one line, at most 300 characters, safe for logs and headers. */
  reason: string;
}

export interface AnswerRule {
  id: string;
  /** What the row is about, in a few words (test names, docs). */
  says: string;
  meaning: AnswerMeaning;
  /** Matches `subject.detail` of the enhanced code (class left out: rows serve 4xx and 5xx alike). */
  status?: RegExp;
  /** Matches the basic reply code; only consulted when there is no enhanced code. */
  code?: RegExp;
  /** Matches the reply text. */
  text?: RegExp;
  /** Only for answers to session commands (greeting, EHLO, AUTH, STARTTLS, MAIL FROM). */
  session?: true;
  /** Only for permanent (5) answers; most rows serve 4xx and 5xx alike. */
  permanent?: true;
}

// Words that mark a verdict about the sender, not the recipient. Kept to phrases that do not
// occur in mailbox answers: "rejected" alone would match Postfix's "Recipient address rejected".
const POLICY_WORDS = new RegExp(
  [
    'block(?:ed|ing)?\\b',
    'block ?list',
    'black ?list',
    'deny ?list',
    '\\(BL\\)',
    'spamhaus',
    'spamcop',
    'barracuda',
    '\\bdnsbl\\b',
    '\\brbl\\b',
    'spam',
    'unsolicited',
    'reputation',
    'policy',
    'policies',
    '\\bdmarc\\b',
    '\\bspf\\b',
    '\\bdkim\\b',
    'unauthenticated',
    'not authenticated',
    'banned',
    'not accepted from this ip',
    'not allowed',
    'permanently deferred',
    'deferred due to',
    'rate.?limit',
    // "too many messages from your IP" is about us; "too many messages on the server" (web.de) is a full mailbox.
    'too many (?:connections|(?:messages|mails) (?:from|in|per))',
    'reverse (?:dns|hostname)',
    '\\bptr\\b',
    'cannot find your (?:reverse )?hostname',
    'no smtp service',
    'relay (?:access )?(?:denied|not permitted)',
    'open relay',
    'virus',
    'malware',
    'phishing',
    'suspicious',
    'objectionable',
    'message (?:size|too (?:big|large))',
    'size (?:limit|exceeds)',
  ].join('|'),
  'i',
);

const MAILBOX_GONE_WORDS = new RegExp(
  [
    'user unknown',
    'unknown user',
    'unknown recipient',
    'recipient unknown',
    'no such (?:user|mailbox|recipient|address)',
    'user (?:is )?unknown',
    'user not found',
    'mailbox (?:not found|unavailable|does not exist|is disabled|disabled)',
    'mailbox currently unavailable',
    'address (?:not found|does not exist|unknown)',
    'does not exist',
    'doesn.t exist',
    "doesn't have an? .{0,40}account",
    'does not have an? .{0,40}account',
    'recipient(?:s)? not found',
    'recipientnotfound',
    'recipnotfound',
    'invalid (?:recipient|mailbox|address)',
    'undeliverable address',
    'unrouteable address',
    'account (?:has been )?(?:disabled|discontinued|closed|deleted|terminated|deactivated)',
    'account .{0,40}(?:is|has been) disabled',
    'no mailbox here',
    'not listed in domino directory',
    'unknown local part',
    'benutzer (?:nicht bekannt|unbekannt)',
  ].join('|'),
  'i',
);

const MAILBOX_FULL_WORDS =
  /over ?quota|quota (?:exceeded|limit)|mailbox (?:is )?full|mailbox size limit|exceeded storage|storage (?:allocation|space)|insufficient (?:disk )?space|too many messages on the server|speichervolumen|speicherplatz|\bfull\b.{0,20}mailbox/i;

/**
 * The table. Order matters: first match wins. Every row has a test with a real answer text.
 */
export const ANSWER_RULES: readonly AnswerRule[] = [
  // Text decides where codes lie.
  {
    id: 'o365-edge-block',
    says: 'Office 365 rejects an unknown recipient at the edge with 5.4.1 "Access denied"',
    meaning: 'mailbox-gone',
    status: /^4\.1$/,
    text: /recipient address rejected: access denied/i,
  },
  {
    id: 'sender-address',
    says: 'our envelope sender (return path) is refused',
    meaning: 'setup',
    text: /sender address rejected|sender (?:address )?verif(?:y|ication) failed|sender domain (?:not found|does not exist|must resolve)/i,
  },
  { id: 'policy-text', says: 'a verdict on the sender or the content, whatever the code', meaning: 'policy', text: POLICY_WORDS },
  { id: 'session-refused', says: 'greeting, EHLO, login, STARTTLS or MAIL FROM refused', meaning: 'setup', session: true },
  { id: 'mailbox-gone-text', says: 'the text says the mailbox does not exist', meaning: 'mailbox-gone', text: MAILBOX_GONE_WORDS },
  { id: 'mailbox-full-text', says: 'the text says the mailbox is full', meaning: 'mailbox-full', text: MAILBOX_FULL_WORDS },

  // Enhanced status codes (RFC 3463), by subject and detail.
  { id: 'x.1.7-sender', says: 'x.1.7/x.1.8: bad sender address or sender domain', meaning: 'setup', status: /^1\.[78]$/ },
  { id: 'x.1.x-address', says: 'x.1.x: bad destination mailbox or domain (incl. 5.1.10 null MX)', meaning: 'mailbox-gone', status: /^1\.\d+$/ },
  // 4.2.1 is something else at Gmail: "receiving mail at a rate that prevents additional messages".
  { id: 'x.2.1-disabled', says: '5.2.1: mailbox disabled', meaning: 'mailbox-gone', status: /^2\.1$/, permanent: true },
  { id: 'x.2.2-full', says: 'x.2.2: mailbox full', meaning: 'mailbox-full', status: /^2\.2$/ },
  { id: 'x.2.3-too-long', says: 'x.2.3: message longer than the mailbox takes', meaning: 'policy', status: /^2\.3$/ },
  { id: 'x.2.x-mailbox', says: 'x.2.x: other mailbox status', meaning: 'unrecognized', status: /^2\.\d+$/ },
  { id: 'x.3.x-system', says: 'x.3.x: mail system status (size, capabilities)', meaning: 'policy', status: /^3\.\d+$/ },
  { id: 'x.4.4-no-route', says: 'x.4.4: the domain has no route for mail', meaning: 'mailbox-gone', status: /^4\.4$/ },
  { id: 'x.4.x-routing', says: 'x.4.x: network or routing (incl. 4.4.7 expired)', meaning: 'unrecognized', status: /^4\.\d+$/ },
  { id: 'x.5.x-protocol', says: 'x.5.x: protocol error on our side', meaning: 'setup', status: /^5\.\d+$/ },
  { id: 'x.6.x-content', says: 'x.6.x: message content or media', meaning: 'policy', status: /^6\.\d+$/ },
  { id: 'x.7.x-security', says: 'x.7.x: security or policy', meaning: 'policy', status: /^7\.\d+$/ },

  // Basic codes, for servers that send no enhanced code.
  { id: 'auth-code', says: '530/534/535/538: authentication required or refused', meaning: 'setup', code: /^53[0458]$/ },
  { id: 'no-mail-domain', says: '521/556: the domain does not accept mail (RFC 7504)', meaning: 'mailbox-gone', code: /^5(21|56)$/ },
  { id: 'storage-552', says: '552: exceeded storage allocation', meaning: 'mailbox-full', code: /^552$/ },
  { id: 'fallback', says: 'anything else', meaning: 'unrecognized' },
];

const SESSION_COMMANDS = /^(CONN|EHLO|HELO|LHLO|AUTH|STARTTLS|MAIL FROM|API)/i;
// Not a piece of an IP address or version number: no digit or dot on either side.
const ENHANCED = /(?<![\w.])([245])\.(\d{1,3})\.(\d{1,3})(?!\.?\d)/;

/** The enhanced status code in a text, e.g. `5.1.1` out of `550-5.1.1 The email account…`. */
export function enhancedStatusOf(text: string): string | undefined {
  const match = ENHANCED.exec(text);
  return match ? `${match[1]}.${match[2]}.${match[3]}` : undefined;
}

/** One line, no control characters, at most 300 characters: fit for a log, a ledger entry or a header. */
export function answerReason(text: string): string {
  return text
    // Continuation lines of a multi-line answer repeat the codes: `…\n550-5.1.1 double-checking…`.
    .replace(/\r?\n\d{3}[ -](?:[245]\.\d{1,3}\.\d{1,3}[ ]+)?/g, ' ')
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    .replace(/\s{2,}/g, ' ')
    .trim()
    .slice(0, 300);
}

function ruleMatches(rule: AnswerRule, detail: string | undefined, code: number | undefined, text: string, session: boolean, temporary: boolean): boolean {
  if (rule.session && !session) return false;
  if (rule.permanent && temporary) return false;
  if (rule.status && (detail === undefined || !rule.status.test(detail))) return false;
  if (rule.code && (detail !== undefined || code === undefined || !rule.code.test(String(code)))) return false;
  if (rule.text && !rule.text.test(text)) return false;
  return true;
}

// Addresses and links say nothing about the verdict, and they could mislead a text row:
// `<nospam@example.com>: Recipient address rejected: User unknown` is no spam verdict.
function wordsOf(text: string): string {
  return text
    .replace(/<[^>]*>/g, ' ')
    .replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, ' ')
    .replace(/\S+@\S+/g, ' ');
}

/** The first row of the table that matches the answer. */
export function matchAnswerRule(answer: SmtpAnswer): AnswerRule {
  const text = wordsOf(answer.text);
  const status = answer.status ?? enhancedStatusOf(text);
  const detail = status ? status.slice(2) : undefined;
  const session = SESSION_COMMANDS.test(answer.command ?? '');
  const temporary = isTemporary(status, answer.code);
  for (const rule of ANSWER_RULES) {
    if (ruleMatches(rule, detail, answer.code, text, session, temporary)) return rule;
  }
  return ANSWER_RULES[ANSWER_RULES.length - 1]!;
}

/** Class 4 by the enhanced code, else by the basic code; an answer with neither counts as permanent. */
function isTemporary(status: string | undefined, code: number | undefined): boolean {
  return status ? status[0] === '4' : code !== undefined && code >= 400 && code < 500;
}

const PERMANENT_KIND: Record<AnswerMeaning, AnswerKind> = {
  'mailbox-gone': 'hard',
  'mailbox-full': 'soft',
  unrecognized: 'soft',
  policy: 'policy',
  setup: 'setup',
  busy: 'soft',
};

/**
 * Classifies one server answer. 4xx (or an enhanced code of class 4) is always
 * `transient`, whatever it says; the meaning is still read, so a report that gives up
 * after days of 4xx (a DSN with `Action: failed` and `Status: 4.x.x`) can tell a full
 * mailbox from a blocklisting.
 */
export function classifySmtpAnswer(answer: SmtpAnswer): AnswerClass {
  const status = answer.status ?? enhancedStatusOf(answer.text);
  const rule = matchAnswerRule({ ...answer, ...(status ? { status } : {}) });
  const temporary = isTemporary(status, answer.code);
  const meaning: AnswerMeaning = temporary && rule.meaning === 'unrecognized' ? 'busy' : rule.meaning;
  return {
    kind: temporary ? 'transient' : PERMANENT_KIND[meaning],
    meaning,
    rule: rule.id,
    ...(answer.code !== undefined ? { code: answer.code } : {}),
    ...(status ? { status } : {}),
    reason: answerReason(answer.code !== undefined && !answer.text.startsWith(String(answer.code)) ? `${answer.code} ${answer.text}` : answer.text),
  };
}

/** The shape of a nodemailer send error, plus the `dataSent` flag our SMTP transport adds. */
export interface SendErrorLike {
  responseCode?: number;
  response?: string;
  command?: string;
  code?: string;
  message?: string;
  dataSent?: boolean;
}

// Faults that happen before any message byte can have left: no DNS, nobody listening,
// a refused TLS or login handshake.
const BEFORE_DATA_CODES = new Set(['EDNS', 'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETLS', 'EAUTH']);

/**
 * Classifies a failed send: the server's answer where there was one, else whether the
 * message had left (`dataSent`) decides between a safe retry and an unclear delivery.
 */
export function classifySendError(error: unknown): AnswerClass {
  const e = (error ?? {}) as SendErrorLike;
  const code = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  if (code !== undefined && code >= 400 && code < 600) {
    const text = e.response ?? e.message ?? String(code);
    return classifySmtpAnswer({ code, text, ...(e.command ? { command: e.command } : {}) });
  }
  const reason = answerReason(e.message ?? e.code ?? String(error));
  const beforeData = e.dataSent === false || (e.dataSent === undefined && (BEFORE_DATA_CODES.has(e.code ?? '') || /^CONN$/i.test(e.command ?? '')));
  return beforeData
    ? { kind: 'connection', meaning: 'no-answer', rule: 'no-answer-before-data', reason }
    : { kind: 'unknown', meaning: 'no-answer', rule: 'no-answer-after-data', reason };
}
