import type { SendMailOptions } from 'nodemailer';
import type { Translator } from '../../i18n/index.ts';
import type { Lang } from '../../core/lang.ts';
import { stripControl } from '../../core/escape.ts';
import { html, Html } from '../shared/html.ts';

export interface ConfirmMailInput {
  from: string;
  to: string;
  name: string;
  lang: Lang;
  site: string;
  confirmUrl: string;
  ttlDays: number;
}

/**
 * The double opt-in mail: one purpose, one link, nothing else. German law treats any
 * advertising in it as unsolicited, so it carries no issue content, no teaser, no logo.
 */
export function confirmMail(t: Translator, input: ConfirmMailInput): SendMailOptions {
  const { lang } = input;
  const name = stripControl(input.name).trim();
  const greeting = name ? t.t(lang, 'mail.confirm.greetingNamed', { name }) : t.t(lang, 'mail.confirm.greetingAnonymous');
  const body = t.t(lang, 'mail.confirm.body', { site: input.site });
  const expires = t.t(lang, 'mail.confirm.expires', { days: input.ttlDays });
  const ignore = t.t(lang, 'mail.confirm.ignore');
  const button = t.t(lang, 'mail.confirm.button');
  const text = [greeting, '', body, '', input.confirmUrl, '', expires, '', ignore, '', `-- `, input.site].join('\n');
  const htmlBody = html`<!doctype html>
<html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${t.t(lang, 'mail.confirm.subject')}</title></head>
<body style="margin:0;padding:24px;font:16px/1.5 Arial,Helvetica,sans-serif;color:#1d2330;background:#ffffff;">
<div lang="${lang}" style="max-width:34rem;margin:0 auto;">
<p>${greeting}</p>
<p>${body}</p>
<p><a href="${input.confirmUrl}" style="display:inline-block;padding:12px 20px;background:#1d2330;color:#ffffff;text-decoration:none;border-radius:6px;font-weight:bold;">${button}</a></p>
<p style="font-size:13px;color:#667085;word-break:break-all;">${input.confirmUrl}</p>
<p style="font-size:13px;color:#667085;">${expires} ${ignore}</p>
<p style="font-size:13px;color:#667085;">${input.site}</p>
</div></body></html>`;
  return {
    from: input.from,
    to: name ? { name, address: input.to } : input.to,
    subject: t.t(lang, 'mail.confirm.subject'),
    text,
    html: (htmlBody as Html).value,
    headers: { 'Auto-Submitted': 'auto-generated', 'Content-Language': lang },
  };
}
