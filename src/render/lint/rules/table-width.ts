import { minTableWidth, PHONE_TEXT_WIDTH } from '../../../content/table-width.ts';
import type { Finding } from '../finding.ts';
import type { IssueRule } from '../rule.ts';

export const tableWidth: IssueRule = {
  name: 'table-width',
  description: 'a warning for a table wider than a phone, which readers must scroll sideways',
  check({ docs, editions }) {
    const findings: Finding[] = [];
    for (const doc of docs) {
      if (!editions.includes(doc.lang)) continue;
      for (const table of doc.outline.sections.flatMap((s) => s.tables)) {
        const width = minTableWidth(table);
        if (width <= PHONE_TEXT_WIDTH) continue;
        const columns = table.header.length;
        findings.push({
          severity: 'warning',
          rule: 'table-width',
          file: doc.file,
          line: table.line,
          lang: doc.lang,
          message: `This table (${columns} columns) needs about ${width} px without breaking a word; a phone has about ${PHONE_TEXT_WIDTH} px, so it scrolls sideways there and shows the first columns first.`,
          hint: 'Fine for reference tables. To avoid scrolling: fewer columns, shorter headers (abbreviate units), or split it into two tables. Put the columns readers need most on the left.',
        });
      }
    }
    return findings;
  },
};
