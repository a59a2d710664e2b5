import type { SendMailOptions } from 'nodemailer';
import { z } from 'zod';
import { DepescheError } from '../../errors.ts';
import { isLang, LANGS, type Edition, type Lang } from '../../render/edition.ts';
import { compileMerge, fillMerge, sampleMergeValues, stripControl } from '../../render/merge.ts';
import type { SentInfo, Transport } from '../../transport/types.ts';

/** Where proofs come from and which list headers they carry; config supplies each. */
export interface ProofSettings {
  /** `MAIL_FROM`. */
  from: string;
  /** `PUBLIC_URL`: the links in the proof point there. */
  publicUrl: string;
  /** `UNSUBSCRIBE_MAILTO`; defaults to unsubscribe@ the domain of `from`. */
  unsubscribeMailto?: string;
  /** `LIST_ID_DOMAIN`; defaults to the host of `publicUrl`. */
  listIdDomain?: string;
}

/**
 * Turns one edition into the message a subscriber would get, as nodemailer options.
 * The sending code's builder plugs in here so a proof and a real send share one header set.
 */
export type ProofMessageBuilder = (edition: Edition, to: string, settings: ProofSettings) => SendMailOptions;

export const PROOF_PREFIX = '[Test] ';

function domainOf(address: string): string | undefined {
  return /@([^\s>]+)>?\s*$/.exec(address)?.[1];
}

/**
 * The headers of a real send, built here until the campaign code exports its builder:
 * List-Unsubscribe with an https URL and a mailto, One-Click (RFC 8058), List-Id (RFC 2919),
 * Content-Language. nodemailer adds Message-ID and Date. The merge fields get the preview's
 * sample values, since a proof reader is not a subscriber and must not unsubscribe anyone.
 */
export const buildProofMessage: ProofMessageBuilder = (edition, to, settings) => {
  const values = sampleMergeValues(settings.publicUrl, edition.slug, edition.lang, edition.greeting);
  const mailto = settings.unsubscribeMailto ?? `unsubscribe@${domainOf(settings.from) ?? 'localhost'}`;
  const listDomain = settings.listIdDomain ?? new URL(settings.publicUrl).hostname;
  return {
    from: settings.from,
    to,
    subject: stripControl(edition.subject),
    html: fillMerge(compileMerge(edition.html), values, 'html'),
    text: fillMerge(compileMerge(edition.text), values, 'text'),
    headers: {
      'List-Unsubscribe': `<${values.unsubscribeUrl}>, <mailto:${mailto}?subject=unsubscribe>`,
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      'List-Id': `<${edition.lang}.${listDomain}>`,
      'Content-Language': edition.lang,
    },
  };
};

const recipient = z.email();

export interface ProofRequest {
  slug: string;
  to: string;
  lang: Lang | 'all';
}

export interface ProofSent extends SentInfo {
  lang: Lang;
  subject: string;
}

export function parseProofRequest(slug: string, input: { to?: unknown; lang?: unknown }): ProofRequest {
  const to = typeof input.to === 'string' ? input.to.trim() : '';
  if (!recipient.safeParse(to).success) {
    throw new DepescheError('E_INPUT', `"${stripControl(to)}" is not one email address.`, {
      hint: 'Give a single address such as editor@example.org.',
    });
  }
  const lang = input.lang ?? 'all';
  if (lang !== 'all' && !isLang(lang)) {
    throw new DepescheError('E_INPUT', `Unknown language "${stripControl(String(lang))}".`, {
      hint: `Use one of ${[...LANGS, 'all'].join(', ')}.`,
    });
  }
  return { slug, to, lang };
}

/** Sends one proof per chosen language, each with "[Test] " before the subject. */
export async function sendProof(
  editions: readonly Edition[],
  request: ProofRequest,
  transport: Transport,
  settings: ProofSettings,
  build: ProofMessageBuilder = buildProofMessage,
): Promise<ProofSent[]> {
  const chosen = request.lang === 'all' ? editions : editions.filter((e) => e.lang === request.lang);
  if (chosen.length === 0) {
    throw new DepescheError('E_NOT_FOUND', `Issue "${request.slug}" has no ${request.lang} edition.`, {
      hint: `Write issues/${request.slug}/${request.lang}.md, or pick another language.`,
    });
  }
  const sent: ProofSent[] = [];
  for (const edition of chosen) {
    const message = build(edition, request.to, settings);
    const subject = PROOF_PREFIX + String(message.subject ?? edition.subject);
    try {
      const info = await transport.sendMail({ ...message, subject });
      sent.push({ ...info, lang: edition.lang, subject });
    } catch (cause) {
      throw new DepescheError('E_SMTP', `The proof of "${request.slug}" (${edition.lang}) was not sent: ${(cause as Error).message}`, {
        hint: 'Check SMTP_URL and that the mail server accepts mail from MAIL_FROM.',
        cause,
      });
    }
  }
  return sent;
}
