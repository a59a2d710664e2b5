import { DoIUseEmail } from '@jsx-email/doiuse-email';
import mjml2html from 'mjml';
import { MJML_OPTIONS } from './mjml.ts';

/**
 * CSS and HTML support per mail client, from the caniemail data that
 * @jsx-email/doiuse-email ships. Its client list lacks the German webmailers, but its
 * data has them, so they are added by hand; features without data for a client are skipped.
 */
export const TARGET_CLIENTS = ['gmail.*', 'apple-mail.*', 'outlook.*', 'yahoo.*'];
const EXTRA_CLIENTS = ['gmx.desktop-webmail', 'web-de.desktop-webmail', 't-online-de.desktop-webmail'];

class Checker extends DoIUseEmail {
  constructor() {
    super({ emailClients: TARGET_CLIENTS });
    this.emailClients = [...this.emailClients, ...(EXTRA_CLIENTS as typeof this.emailClients)];
  }

  override checkFeaturesSupport(featureTitles: string | string[]): void {
    const clients = this.emailClients;
    try {
      for (const client of clients) {
        this.emailClients = [client];
        for (const title of [featureTitles].flat()) {
          try {
            super.checkFeaturesSupport(title);
          } catch {
            // no caniemail data for this feature on this client: nothing to report
          }
        }
      }
    } finally {
      this.emailClients = clients;
    }
  }
}

export interface SupportIssue {
  feature: string;
  support: 'none' | 'partial';
  clients: string[];
}

const messagePattern = /^`(.+)` is (not|only partially) supported by `(.+)`$/;

function check(html: string): Map<string, SupportIssue> {
  const result = new Checker().check(html);
  const issues = new Map<string, SupportIssue>();
  for (const message of [...('errors' in result ? result.errors : []), ...result.warnings]) {
    const match = messagePattern.exec(message);
    if (!match) continue;
    const support = match[2] === 'not' ? 'none' : 'partial';
    const key = `${match[1]}|${support}`;
    const issue = issues.get(key) ?? { feature: match[1]!, support, clients: [] };
    if (!issue.clients.includes(match[3]!)) issue.clients.push(match[3]!);
    issues.set(key, issue);
  }
  return issues;
}

// What MJML's own skeleton uses: it ships tested fallbacks for those, so they are not news.
const SKELETON = `<mjml lang="de"><mj-head><mj-title>t</mj-title><mj-preview>p</mj-preview><mj-style>@media only screen and (max-width:480px){.x{width:100%!important}}</mj-style></mj-head><mj-body>
<mj-section><mj-column><mj-text>t</mj-text><mj-button href="https://example.org">b</mj-button>
<mj-image src="https://example.org/a.png" alt="a" /><mj-divider /><mj-spacer /></mj-column></mj-section></mj-body></mjml>`;
let baseline: Promise<Set<string>> | null = null;

function skeletonIssues(): Promise<Set<string>> {
  baseline ??= mjml2html(SKELETON, { ...MJML_OPTIONS }).then((r) => new Set(check(r.html).keys()));
  return baseline;
}

/** Client-support problems the templates and content add on top of MJML's skeleton. */
export async function clientSupport(html: string): Promise<SupportIssue[]> {
  const known = await skeletonIssues();
  return [...check(html)].filter(([key]) => !known.has(key)).map(([, issue]) => issue);
}
