import type { Lang } from '../../core/lang.ts';
import type { BodyKind } from '../../content/load.ts';

/**
 * The probe: a small issue that uses every part of a briefing, or every Markdown
 * feature of an article, so one build shows everything a template can put in a mail.
 * Template lint (client support, the <style>-stripped check) runs on it, and the
 * preview's template view shows it.
 */
const FRONT = (lang: Lang, template: string) => `---
template: ${template}
title: ${lang === 'de' ? 'Probeausgabe' : 'Probe issue'}
subject: "${lang === 'de' ? 'Probe: jede Vorlage, jeder Teil' : 'Probe: every template, every part'}"
preheader: "${lang === 'de' ? 'Alles, was eine Ausgabe enthalten kann' : 'Everything an issue can hold'}"
date: 2026-01-05
issue: 1
tagline: "${lang === 'de' ? 'Wie KI Chinas Industrien umbaut' : "How AI is reshaping China's industries"}"
author: Redaktion
dek: ${lang === 'de' ? 'Ein Satz unter der Überschrift' : 'One sentence under the headline'}
---
`;

const BLOCKS = `
::: editorial signature="Henrik Bork" role="Redaktion"
Text der Redaktion mit **fett**, *kursiv* und einem [Link](https://example.org/editorial).
:::

::: focus dek="Unterzeile"
## Fokus

Text.

+++ why
Warum.
+++

[Weiterlesen](https://example.org/focus)
:::

::: news
## Nachricht

Text mit Liste:

- eins
- zwei

+++ why
Warum.
+++

[Link](https://example.org/news)
:::

::: quote by="Jemand" when="2026"
Ein Zitat.
:::

::: number figure="6000" source="Quelle"
Was die Zahl bedeutet.
:::

::: policy region="Guangdong"
Text.

+++ about
Worum es geht.
+++
:::

::: radar
## Radar

Text.

+++ why
Warum.
+++
:::

::: deepdive
## Deep Dive

![Ein Bild](https://example.org/probe.png "Bildunterschrift · Foto: Probe")

Text.

[Zum Deep Dive](https://example.org/deep)
:::

::: footer
Eine Notiz über dem Fuß.
:::
`;

const MARKDOWN = `
Ein Absatz mit **fett**, *kursiv*, ~~durchgestrichen~~, \`Code\`, einem [Link](https://example.org/a) und einer Fußnote.[^1]

## Zwischenüberschrift

- Punkt eins
- Punkt zwei

1. Schritt eins
2. Schritt zwei

> Ein Zitat, eingerückt.

### Kleinere Überschrift

| Modell | Anbieter | Sitz | Jahr |
| --- | --- | --- | ---: |
| DeepSeek-V2 | DeepSeek | Hangzhou | 2024 |
| GLM | Zhipu AI | Peking | 2023 |

![Ein Bild](https://example.org/probe.png "Bildunterschrift · Foto: Probe")

\`\`\`
const line = 'code';
\`\`\`

[^1]: Eine Anmerkung.
`;

export interface ProbeSource {
  lang: Lang;
  file: string;
  source: string;
}

export function probeSources(template: string, body: BodyKind): ProbeSource[] {
  const text = body === 'blocks' ? BLOCKS : MARKDOWN;
  return (['de', 'en'] as const).map((lang) => ({ lang, file: `(probe of template "${template}", ${lang})`, source: FRONT(lang, template) + text }));
}
