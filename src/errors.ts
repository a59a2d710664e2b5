/**
 * One error class for everything Depesche reports on purpose. The `code` is stable
 * (callers branch on it), the message says what happened, and `hint` says what to do.
 * Content errors also carry the file and line an editor has to open.
 */
export type ErrorCode =
  | 'E_CONFIG' // a setting is missing or malformed
  | 'E_CONTENT' // an issue file is malformed (front matter, block syntax, fields)
  | 'E_TEMPLATE' // a template is unknown or fails to render
  | 'E_MJML' // MJML rejected the generated markup
  | 'E_LINT' // the built edition breaks an email-correctness rule
  | 'E_INPUT' // bad user input: CLI arguments, CSV rows, request bodies
  | 'E_TOKEN' // a signed token is forged, altered or expired
  | 'E_FORBIDDEN' // the request comes from somewhere it may not (another site's form)
  | 'E_NOT_FOUND' // an issue, list, subscriber or campaign does not exist
  | 'E_CONFLICT' // the action contradicts current state (e.g. sending an issue twice)
  | 'E_REDIS' // Redis is unreachable or misconfigured
  | 'E_SMTP'; // the SMTP server refused or the connection failed

export interface ErrorLocation {
  file: string;
  line?: number;
  column?: number;
}

export interface DepescheErrorOptions {
  hint?: string;
  location?: ErrorLocation;
  cause?: unknown;
}

export class DepescheError extends Error {
  override name = 'DepescheError';
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly location: ErrorLocation | undefined;

  constructor(code: ErrorCode, message: string, options: DepescheErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
    this.location = options.location;
  }

  /** `file:line:column` when the error points into a file, as editors and terminals link it. */
  get where(): string | undefined {
    if (!this.location) return undefined;
    const { file, line, column } = this.location;
    return [file, line, line !== undefined ? column : undefined].filter((p) => p !== undefined).join(':');
  }

  /** One or two lines for a terminal or an overlay: where, what, and what to do. */
  format(): string {
    const head = this.where ? `${this.where}: ${this.message}` : this.message;
    return this.hint ? `${head}\n  → ${this.hint}` : head;
  }
}

export function isDepescheError(error: unknown): error is DepescheError {
  return error instanceof DepescheError;
}
