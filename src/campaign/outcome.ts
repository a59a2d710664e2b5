/**
 * What an SMTP failure means for the ledger. The server's answer decides where there is
 * one; without one, whether the whole message had left (`dataSent`, set by our SMTP
 * transport) decides whether a retry is safe.
 */
export type SendFailure =
  /** 5xx to the recipient or the message: bounced, never retried. */
  | 'bounce'
  /** 4xx: the server said not now; nothing arrived, retry later. */
  | 'transient'
  /** No connection, or it broke before the message was out: nothing arrived, retry later. */
  | 'connection'
  /** The connection broke after the message was out: only the server knows. */
  | 'unknown';

interface SmtpLikeError {
  responseCode?: number;
  command?: string;
  dataSent?: boolean;
}

// A 5xx to these is about the session (login, sender, greeting), not the recipient:
// bouncing everyone over a misconfigured account would be a disaster.
const SESSION_COMMANDS = /^(CONN|EHLO|HELO|LHLO|AUTH|STARTTLS|MAIL FROM|API)/;

export function classifyFailure(error: unknown): SendFailure {
  const e = (error ?? {}) as SmtpLikeError;
  const code = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  if (code !== undefined && code >= 500 && code < 600) {
    return SESSION_COMMANDS.test(e.command ?? '') ? 'connection' : 'bounce';
  }
  if (code !== undefined && code >= 400 && code < 500) return 'transient';
  return e.dataSent === false ? 'connection' : 'unknown';
}

export function describeFailure(error: unknown): string {
  const e = error as { response?: string; message?: string } | undefined;
  return String(e?.response ?? e?.message ?? error).replace(/[\r\n]+/g, ' ').slice(0, 300);
}
