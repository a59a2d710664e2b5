import { clientSupport as checkClients } from '../../caniemail.ts';
import { MANIFEST_FILE } from '../../templates.ts';
import type { Finding } from '../finding.ts';
import type { TemplateRule } from '../rule.ts';

/** The first template line that mentions the feature, so the finding opens where it is used. */
function locate(sources: readonly { file: string; source: string }[], feature: string): { file: string; line?: number } | undefined {
  const needle = feature.replace(/^<|>.*$|\s.*$/g, '').trim();
  if (!needle) return undefined;
  const pattern = feature.startsWith('<') ? `<${needle}` : needle;
  for (const { file, source } of sources) {
    const index = source.indexOf(pattern);
    if (index >= 0) return { file, line: source.slice(0, index).split('\n').length };
  }
  return undefined;
}

/**
 * CSS and HTML the template uses that some target clients (Gmail, Apple Mail, Outlook,
 * Yahoo, GMX, WEB.DE, T-Online) lack, from caniemail's data, beyond what MJML's own
 * skeleton uses with tested fallbacks. A template accepts a gap on purpose in its
 * template.json (`acceptedClientGaps`), with the reason.
 */
export const clientSupport: TemplateRule = {
  name: 'client-support',
  description: 'CSS and HTML that target mail clients do not support (caniemail data), unless the template accepts the gap with a reason',
  async check({ template, probes }) {
    const probe = probes[0];
    if (!probe) return [];
    const accepted = template.manifest.acceptedClientGaps;
    const findings: Finding[] = [];
    // One finding per feature: "not supported by …, only partly by …".
    const byFeature = new Map<string, { none: string[]; partial: string[] }>();
    for (const issue of await checkClients(probe.html)) {
      if (issue.feature in accepted) continue;
      const entry = byFeature.get(issue.feature) ?? { none: [], partial: [] };
      entry[issue.support].push(...issue.clients);
      byFeature.set(issue.feature, entry);
    }
    for (const [feature, { none, partial }] of byFeature) {
      const where = locate(template.sources, feature) ?? { file: template.file };
      const support = [none.length ? `not supported by ${none.join(', ')}` : '', partial.length ? `only partly supported by ${partial.join(', ')}` : ''].filter(Boolean).join(', and ');
      findings.push({
        severity: 'warning',
        rule: 'client-support',
        ...where,
        message: `Template "${template.name}": ${feature} is ${support} (caniemail).`,
        hint: `Use something those clients support, or accept the gap in templates/${template.name}/${MANIFEST_FILE}: "acceptedClientGaps": { "${feature}": "why it is fine" }.`,
      });
    }
    return findings;
  },
};
