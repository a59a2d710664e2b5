import type { IssueDocument, OutlineSection, TableShape } from '../../../content/model.ts';
import type { Finding } from '../finding.ts';
import { fileName, type IssueRule } from '../rule.ts';

/**
 * Two editions of one issue say the same things: the same parts and items (briefing),
 * the same sections with the same lists, tables, images, quotes and code, about as many
 * paragraphs, the same footnotes and the same links in the same order. Translations
 * merge and split paragraphs, so those get a tolerance; everything else must match.
 *
 * Sections are paired by an alignment, not by position, so one missing section is
 * reported as that section, not as every section after it being different. A finding
 * points at the edition that was saved last (that is the one that changed), with the
 * matching place in the other as `related`.
 */

/** Pairs two sequences in order, maximising the summed score; `score` below 0 means "never pair". */
export function align<A, B>(a: readonly A[], b: readonly B[], score: (x: A, y: B) => number): [number | null, number | null][] {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const dp = new Float64Array(rows * cols);
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const s = score(a[i - 1]!, b[j - 1]!);
      const diag = s >= 0 ? dp[(i - 1) * cols + j - 1]! + s : -1;
      dp[i * cols + j] = Math.max(dp[(i - 1) * cols + j]!, dp[i * cols + j - 1]!, diag);
    }
  }
  const out: [number | null, number | null][] = [];
  let i = a.length;
  let j = b.length;
  while (i > 0 || j > 0) {
    if (i > 0 && j > 0) {
      const s = score(a[i - 1]!, b[j - 1]!);
      if (s >= 0 && dp[i * cols + j] === dp[(i - 1) * cols + j - 1]! + s) {
        out.push([--i, --j]);
        continue;
      }
    }
    if (i > 0 && (j === 0 || dp[i * cols + j] === dp[(i - 1) * cols + j])) out.push([--i, null]);
    else out.push([null, --j]);
  }
  return out.reverse();
}

/** Translations merge and split paragraphs: allow about a third, at least one. */
export function paragraphsDiffer(a: number, b: number): boolean {
  if ((a === 0) !== (b === 0)) return true;
  return Math.abs(a - b) > Math.max(1, Math.floor(0.34 * Math.max(a, b)));
}

const tableShape = (t: TableShape) => `${t.header.length}×${t.rows.length}`;
const same = <T>(x: readonly T[], y: readonly T[], key: (v: T) => string) => x.map(key).join('|') === y.map(key).join('|');

function sectionScore(x: OutlineSection, y: OutlineSection): number {
  if (x.kind !== y.kind || x.level !== y.level || (x.kind === 'block' && x.title !== y.title)) return -1;
  let score = 2;
  if (same(x.tables, y.tables, tableShape)) score += 1;
  if (same(x.lists, y.lists, (l) => `${l.ordered}${l.items}`)) score += 1;
  if (x.images.length === y.images.length) score += 1;
  if (!paragraphsDiffer(x.paragraphs, y.paragraphs)) score += 0.5;
  if (x.quotes.length === y.quotes.length) score += 0.5;
  return score;
}

function describe(section: OutlineSection): string {
  if (section.kind === 'heading') return `"${'#'.repeat(section.level)} ${section.title}"`;
  if (section.kind === 'block') return `the ::: ${section.title} block`;
  return 'the text before the first heading';
}

interface Pair {
  a: IssueDocument;
  b: IssueDocument;
  /** The edition saved last: the one that changed, so the one to open. */
  target: IssueDocument;
  findings: Finding[];
}

/** A finding in the edition to fix, with the matching line of the other edition. */
function report(pair: Pair, lines: { a?: number; b?: number }, message: string, hint: string): void {
  const inA = pair.target === pair.a;
  const target = inA ? pair.a : pair.b;
  const other = inA ? pair.b : pair.a;
  const line = inA ? lines.a : lines.b;
  const otherLine = inA ? lines.b : lines.a;
  pair.findings.push({
    severity: 'error',
    rule: 'parity',
    message,
    hint,
    file: target.file,
    ...(line ? { line } : {}),
    lang: target.lang,
    related: { file: other.file, ...(otherLine ? { line: otherLine } : {}) },
  });
}

const TRANSLATE = 'The editions are translations of each other: keep the same sections, lists, tables, images and links in both.';

function compareParts(pair: Pair): boolean {
  const { a, b } = pair;
  const kinds = (d: IssueDocument) => d.parts.map((p) => p.kind).join(', ');
  if (kinds(a) !== kinds(b)) {
    const at = a.parts.findIndex((p, i) => b.parts[i]?.kind !== p.kind);
    const index = at < 0 ? a.parts.length : at;
    report(pair, { a: a.parts[index]?.line, b: b.parts[index]?.line }, `The parts differ: ${fileName(a.file)} has [${kinds(a)}], ${fileName(b.file)} has [${kinds(b)}].`, 'Both editions have the same ::: blocks in the same order.');
    return false;
  }
  a.parts.forEach((part, i) => {
    const other = b.parts[i]!;
    if (part.items.length !== other.items.length) {
      report(pair, { a: part.line, b: other.line }, `"${part.kind}" has ${part.items.length} item(s) in ${fileName(a.file)} but ${other.items.length} in ${fileName(b.file)}.`, `Give both editions the same number of ::: ${part.kind === 'numbers' ? 'number' : part.kind} blocks.`);
    }
  });
  return true;
}

function compareSections(pair: Pair): void {
  const { a, b } = pair;
  const A = a.outline.sections;
  const B = b.outline.sections;
  const fa = fileName(a.file);
  const fb = fileName(b.file);
  const previous: [OutlineSection | undefined, OutlineSection | undefined] = [undefined, undefined];
  for (const [i, j] of align(A, B, sectionScore)) {
    const x = i === null ? undefined : A[i];
    const y = j === null ? undefined : B[j];
    if (x && !y) {
      report(pair, { a: x.line, b: previous[1]?.line }, `The section ${describe(x)} (${fa}:${x.line}) has no counterpart in ${fb}.`, `Translate it into ${fb}, or remove it from ${fa}. ${TRANSLATE}`);
    } else if (y && !x) {
      report(pair, { a: previous[0]?.line, b: y.line }, `The section ${describe(y)} (${fb}:${y.line}) has no counterpart in ${fa}.`, `Translate it into ${fa}, or remove it from ${fb}. ${TRANSLATE}`);
    } else if (x && y) {
      const where = { a: x.line, b: y.line };
      const name = describe(x);
      const count = (what: string, m: number, n: number) => `${name} has ${m} ${what} in ${fa} (line ${x.line}) but ${n} in ${fb} (line ${y.line}).`;
      if (paragraphsDiffer(x.paragraphs, y.paragraphs)) report(pair, where, count('paragraph(s)', x.paragraphs, y.paragraphs), `A translation may merge or split a paragraph, not drop text. ${TRANSLATE}`);
      if (!same(x.lists, y.lists, (l) => `${l.ordered}${l.items}`)) {
        const shape = (s: OutlineSection) => (s.lists.length ? s.lists.map((l) => `${l.items} ${l.ordered ? 'numbered' : 'bulleted'} item(s)`).join(', ') : 'no list');
        report(pair, { a: x.lists[0]?.line ?? x.line, b: y.lists[0]?.line ?? y.line }, `The lists under ${name} differ: ${shape(x)} in ${fa}, ${shape(y)} in ${fb}.`, TRANSLATE);
      }
      if (!same(x.tables, y.tables, tableShape)) {
        const shape = (s: OutlineSection) => (s.tables.length ? s.tables.map((t) => `${t.header.length} columns × ${t.rows.length} rows`).join(', ') : 'no table');
        report(pair, { a: x.tables[0]?.line ?? x.line, b: y.tables[0]?.line ?? y.line }, `The tables under ${name} differ: ${shape(x)} in ${fa}, ${shape(y)} in ${fb}.`, TRANSLATE);
      }
      if (x.images.length !== y.images.length) report(pair, { a: x.images[0]?.line ?? x.line, b: y.images[0]?.line ?? y.line }, count('image(s)', x.images.length, y.images.length), TRANSLATE);
      if (x.quotes.length !== y.quotes.length) report(pair, { a: x.quotes[0]?.line ?? x.line, b: y.quotes[0]?.line ?? y.line }, count('quote(s)', x.quotes.length, y.quotes.length), TRANSLATE);
      if (x.code.length !== y.code.length) report(pair, { a: x.code[0]?.line ?? x.line, b: y.code[0]?.line ?? y.line }, count('code block(s)', x.code.length, y.code.length), TRANSLATE);
    }
    if (x) previous[0] = x;
    if (y) previous[1] = y;
  }
}

function compareLinks(pair: Pair): void {
  const { a, b } = pair;
  const A = a.outline.links;
  const B = b.outline.links;
  const fa = fileName(a.file);
  const fb = fileName(b.file);
  const steps = align(A, B, (x, y) => (x.href === y.href ? 1 : -1));
  let reported = 0;
  for (let k = 0; k < steps.length && reported < 5; k++) {
    const [i, j] = steps[k]!;
    if (i !== null && j !== null) continue;
    const next = steps[k + 1];
    // A link only in A next to one only in B (either order): the target was changed.
    const swap = next && ((i !== null && next[0] === null && next[1] !== null) || (i === null && next[0] !== null && next[1] === null));
    if (swap) {
      const x = A[(i ?? next[0])!]!;
      const y = B[(j ?? next[1])!]!;
      report(pair, { a: x.line, b: y.line }, `A link differs: ${fa}:${x.line} links to ${x.href}, ${fb}:${y.line} to ${y.href}.`, 'Both editions link to the same targets, in the same order. Correct the one that is wrong.');
      k++;
    } else if (i !== null) {
      const x = A[i]!;
      report(pair, { a: x.line, b: B[steps.slice(0, k).reverse().find(([, jj]) => jj !== null)?.[1] ?? -1]?.line }, `The link to ${x.href} (${fa}:${x.line}) is missing in ${fb}.`, 'Both editions link to the same targets, in the same order.');
    } else {
      const y = B[j!]!;
      report(pair, { a: A[steps.slice(0, k).reverse().find(([ii]) => ii !== null)?.[0] ?? -1]?.line, b: y.line }, `The link to ${y.href} (${fb}:${y.line}) is missing in ${fa}.`, 'Both editions link to the same targets, in the same order.');
    }
    reported++;
  }
}

export const parity: IssueRule = {
  name: 'parity',
  description: 'when an issue has two editions, they have the same parts, sections, lists, tables, images, quotes, footnotes and links',
  check({ docs, editions }) {
    const sent = docs.filter((doc) => editions.includes(doc.lang));
    const [base, ...others] = sent;
    const findings: Finding[] = [];
    if (!base) return findings;
    for (const other of others) {
      // Files saved within a second of each other are "the same age": point at the translation.
      const target = base.mtimeMs - other.mtimeMs > 1000 ? base : other;
      const pair: Pair = { a: base, b: other, target, findings };
      if (compareParts(pair)) compareSections(pair);
      compareLinks(pair);
      if (base.outline.footnotes !== other.outline.footnotes) {
        report(pair, {}, `${fileName(base.file)} has ${base.outline.footnotes} footnote(s), ${fileName(other.file)} has ${other.outline.footnotes}.`, TRANSLATE);
      }
    }
    return findings;
  },
};
