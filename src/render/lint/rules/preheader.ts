import { escapeHtml } from '../../../core/escape.ts';
import type { EditionRule } from '../rule.ts';

export const preheader: EditionRule = {
  name: 'preheader',
  description: 'the mail has a preheader, the preview line inboxes show after the subject',
  check({ edition, doc, html }) {
    if (edition.preheader.trim() && html.includes(escapeHtml(edition.preheader).slice(0, 40))) return [];
    return [{ severity: 'error', rule: 'preheader', file: doc.file, line: doc.metaLine('preheader'), lang: edition.lang, message: 'The mail has no preheader (the preview line after the subject).', hint: 'Set `preheader:` in the front matter, and keep the preheader partial in the template.' }];
  },
};
