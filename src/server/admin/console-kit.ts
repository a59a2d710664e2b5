import type { FastifyReply, FastifyRequest } from 'fastify';
import { httpStatusOf } from '../../core/http-status.ts';
import { DepescheError, isDepescheError } from '../../errors.ts';
import type { Actor } from '../../subscribers/consent.ts';
import { html, type Html } from '../shared/html.ts';
import { adminLang, t } from './i18n.ts';
import { page, type NavId } from './layout.ts';

/**
 * What the subscriber, list and import pages share: their labels (the console's `admin.*`
 * labels in its language, i18n.ts), the frame with its nav, the actor of a form post, and
 * errors shown as a notice on the page rather than as JSON.
 */

export type T = (key: string, vars?: Record<string, unknown>) => string;

/** Labels in the console's language for this request (see adminLang: ?lang=, cookie, browser). */
export async function labels(request: FastifyRequest): Promise<T> {
  const lang = adminLang(request);
  return (key, vars) => t(lang, key, vars);
}

const SECTIONS: readonly NavId[] = ['subscribers', 'lists', 'import'];

export function sendPage(reply: FastifyReply, title: string, body: Html, options: { script?: string; status?: number } = {}): FastifyReply {
  const lang = adminLang(reply.request, reply);
  const section = reply.request.url.split(/[/?]/)[1] as NavId;
  return reply
    .code(options.status ?? 200)
    .type('text/html; charset=utf-8')
    .send(page(title, body, { lang, ...(SECTIONS.includes(section) ? { active: section } : {}), ...(options.script ? { script: options.script } : {}) }));
}

/** A form field as text ('' when absent or not text). */
export function field(body: unknown, name: string): string {
  const value = (body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
}

/** Who made a change from the console and why; both go to the consent or ops log. */
export function consoleActor(body: unknown): Actor {
  const reason = field(body, 'reason').trim();
  if (reason.length < 3 || reason.length > 500) {
    throw new DepescheError('E_INPUT', 'Say why in "Reason" (3 to 500 characters): it is logged with the change.');
  }
  return { by: 'admin-console', reason };
}

export function notice(error: unknown): { status: number; html: Html } {
  if (isDepescheError(error)) {
    return { status: httpStatusOf(error.code), html: html`<div class="notice error" role="alert"><strong>${error.message}</strong>${error.hint ? html` ${error.hint}` : ''}</div>` };
  }
  throw error;
}

export function done(message: string | undefined): Html | '' {
  return message ? html`<div class="notice" role="status">${message}</div>` : '';
}

export function badge(status: string, label: string): Html {
  return html`<span class="badge ${status}">${label}</span>`;
}

export function when(iso: string | number | undefined): string {
  if (iso === undefined || iso === '' || iso === 0) return '';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '' : date.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
}

/** A query string from the non-empty values. */
export function query(values: Record<string, string | null | undefined>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) if (v) params.set(k, v);
  const text = params.toString();
  return text ? `?${text}` : '';
}
