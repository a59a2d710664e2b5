import { randomBytes } from 'node:crypto';
import type { SendMailOptions } from 'nodemailer';
import type { Translator } from '../../i18n/index.ts';
import type { ConfirmationMail, ConfirmationMailer } from '../../subscribers/subscriptions.ts';
import type { Transport } from '../../transport/types.ts';
import { html, Html } from '../shared/html.ts';

export interface ConfirmMailSettings {
  /** MAIL_FROM. */
  from: string;
  /** The newsletter's name, from MAIL_FROM's display name. */
  site: string;
}

/**
 * The mail that carries a request's link: one purpose, one link, nothing else. German law
 * treats any advertising in it as unsolicited mail, so it carries no issue content, no
 * teaser, no logo. It says what was asked (join which lists, in which language) and never
 * repeats anything a stranger typed into the form: no name, so the form cannot be used
 * to deliver someone else's words to an inbox.
 */
export function confirmMail(t: Translator, settings: ConfirmMailSettings, mail: ConfirmationMail, messageId: string): SendMailOptions {
  const { lang } = mail;
  const asked = [
    ...mail.lists.map((list) => t.t(lang, 'mail.confirm.join', { list })),
    t.t(lang, 'mail.confirm.lang', { lang: t.t(lang, `public.langName.${mail.requestedLang}`) }),
  ];
  const greeting = t.t(lang, 'mail.confirm.greeting');
  const body = t.t(lang, 'mail.confirm.body');
  const action = t.t(lang, 'mail.confirm.action');
  const expires = t.t(lang, 'mail.confirm.expires', { days: mail.expiresInDays });
  const ignore = t.t(lang, 'mail.confirm.ignore');
  const button = t.t(lang, 'mail.confirm.button');
  const subject = t.t(lang, 'mail.confirm.subject', { site: settings.site });
  const text = [greeting, '', body, ...asked.map((line) => `- ${line}`), '', action, mail.confirmUrl, '', expires, '', ignore, '', '-- ', settings.site].join('\n');
  const htmlBody = html`<!doctype html>
<html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${subject}</title></head>
<body style="margin:0;padding:24px;font:16px/1.5 Arial,Helvetica,sans-serif;color:#1d2330;background:#ffffff;">
<div lang="${lang}" style="max-width:34rem;margin:0 auto;">
<p>${greeting}</p>
<p>${body}</p>
<ul>${asked.map((line) => html`<li>${line}</li>`)}</ul>
<p>${action}</p>
<p><a href="${mail.confirmUrl}" style="display:inline-block;padding:12px 20px;background:#1d2330;color:#ffffff;text-decoration:none;border-radius:6px;font-weight:bold;">${button}</a></p>
<p style="font-size:13px;color:#667085;word-break:break-all;">${mail.confirmUrl}</p>
<p style="font-size:13px;color:#667085;">${expires} ${ignore}</p>
<p style="font-size:13px;color:#667085;">${settings.site}</p>
</div></body></html>`;
  return {
    from: settings.from,
    to: mail.to,
    subject,
    text,
    html: (htmlBody as Html).value,
    messageId,
    headers: { 'Auto-Submitted': 'auto-generated', 'Content-Language': lang },
  };
}

/** Sends confirmation mails over a transport, each with its own Message-ID for the consent record. */
export function confirmationMailer(t: Translator, transport: Transport, settings: ConfirmMailSettings): ConfirmationMailer {
  const domain = /@([^>\s]+)>?\s*$/.exec(settings.from)?.[1] ?? 'localhost';
  return {
    async send(mail) {
      const messageId = `<confirm.${randomBytes(12).toString('hex')}@${domain}>`;
      await transport.sendMail(confirmMail(t, settings, mail, messageId));
      return { messageId };
    },
  };
}
