import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { prepareEdition } from '../../campaign/mime.ts';
import { DepescheError } from '../../errors.ts';
import { isLang, LANGS, type Lang } from '../../core/lang.ts';
import type { Edition } from '../../core/edition.ts';
import { stripControl } from '../../core/escape.ts';
import type { SentInfo, Transport } from '../../transport/types.ts';

/** Sender and list headers of a proof; the config supplies each, as for a real send. */
export interface ProofSettings {
  /** `MAIL_FROM`. */
  from: string;
  /** `PUBLIC_URL`: the links in the proof point there. */
  publicUrl: string;
  /** `UNSUBSCRIBE_MAILTO`; defaults to unsubscribe@ the domain of `from`. */
  unsubscribeMailto?: string;
  /** `LIST_ID_DOMAIN`; defaults to the host of `publicUrl`. */
  listIdDomain?: string;
  /**
   * `DEPESCHE_SECRET`, which signs the links as in a real send. Without it a throwaway key
   * signs them: the headers are the same, and the proof's unsubscribe link is refused.
   */
  secret?: string;
  /** The list named in List-Id. @defaultValue `proof` */
  list?: string;
}

export const PROOF_PREFIX = '[Test] ';

/** The recipient id inside the proof's signed links; no subscriber has it. */
export const PROOF_RECIPIENT_ID = 'proof';

const throwawaySecret = randomBytes(32).toString('hex');
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

/**
 * Sends one proof per chosen language. Each is built by the campaign's own message
 * builder, so it carries exactly the headers of a real send (List-Unsubscribe with URL and
 * mailto, One-Click, List-Id, Content-Language, Message-ID, Date), with "[Test] " before
 * the subject and `X-Depesche-Campaign: proof-<slug>`.
 */
export async function sendProof(editions: readonly Edition[], request: ProofRequest, transport: Transport, settings: ProofSettings): Promise<ProofSent[]> {
  const chosen = request.lang === 'all' ? editions : editions.filter((e) => e.lang === request.lang);
  if (chosen.length === 0) {
    throw new DepescheError('E_NOT_FOUND', `Issue "${request.slug}" has no ${request.lang} edition.`, {
      hint: `Write issues/${request.slug}/${request.lang}.md, or pick another language.`,
    });
  }
  const sent: ProofSent[] = [];
  for (const edition of chosen) {
    const subject = PROOF_PREFIX + edition.subject;
    const prepared = prepareEdition(
      { ...edition, subject },
      {
        mailFrom: settings.from,
        publicUrl: settings.publicUrl,
        secret: settings.secret ?? throwawaySecret,
        campaignId: `proof-${edition.slug}`,
        list: settings.list ?? 'proof',
        ...(settings.listIdDomain ? { listIdDomain: settings.listIdDomain } : {}),
        ...(settings.unsubscribeMailto ? { unsubscribeMailto: settings.unsubscribeMailto } : {}),
      },
    );
    const message = prepared.build({ id: PROOF_RECIPIENT_ID, email: request.to, name: '', lang: edition.lang }, randomBytes(6).toString('hex'));
    try {
      const info = await transport.sendMail({ envelope: message.envelope, raw: message.raw });
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
