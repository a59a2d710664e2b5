// Regenerates the console screenshots in docs/: `npx node test/console/screenshot.ts`.
// Runs the admin app on a private redis-server with 20,000 made-up readers, in headless Chromium.
import { resolve } from 'node:path';
import { launchBrowser } from '../support/browser.ts';
import { reindex, seedDeliveries, seedSubscribers, startConsole } from '../support/console.ts';

const docs = resolve(import.meta.dirname, '../../docs');
const first = ['Anna', 'Jörg', 'Mei', 'Lukas', 'Sofia', 'Wei', 'Hannah', 'Tobias', 'Li', 'Greta'];
const last = ['Müller', 'Schmidt', 'Zhang', 'Becker', 'Wang', 'Hoffmann', 'Chen', 'Wagner', 'Liu', 'Krüger'];
const domains = ['example.org', 'firma.example', 'uni.example', 'mail.example'];

const ops = await startConsole();
const browser = await launchBrowser();
try {
  const store = ops.store;
  await seedSubscribers(store, 'briefing', 20_000, (i) => {
    const a = first[i % 10]!;
    const b = last[Math.floor(i / 10) % 10]!;
    const local = `${a}.${b}${i}`.toLowerCase().replace(/ä/g, 'ae').replace(/ö/g, 'oe').replace(/ü/g, 'ue');
    return { email: `${local}@${domains[i % 4]}`, name: `${a} ${b}`, lang: i % 3 ? 'de' : 'en' };
  });
  await seedSubscribers(store, 'briefing-en', 1200, (i) => ({ email: `reader${i}@news.example`, name: '', lang: 'en' }));
  await seedSubscribers(store, 'events', 340, (i) => ({ email: `guest${i}@events.example`, name: `Guest ${i}`, lang: 'de' }));
  await store.setVisibility('briefing', 'public', { by: 'docs', reason: 'screenshots' });
  const jörg = await store.upsert({ email: 'joerg.mueller@kanzlei.example', name: 'Jörg Müller', lang: 'de' }, 'briefing');
  await store.addToList(jörg.id, 'events');
  await seedDeliveries(store, jörg.id, 'briefing');
  for (const i of [3, 17, 42]) {
    const s = await store.findByEmail(`reader${i}@news.example`);
    await store.unsubscribe(s!.id, 'one-click');
  }
  await reindex(store);

  const shoot = async (path: string, file: string, width = 1280, prepare?: (page: Awaited<ReturnType<typeof browser.newPage>>) => Promise<void>) => {
    const page = await browser.newPage({ width, height: 860 });
    await page.goto(`${ops.url}${path}`);
    await prepare?.(page);
    await page.screenshot({ path: resolve(docs, file), fullPage: false });
    console.log(`wrote docs/${file}`);
    await page.close();
  };
  await shoot('/subscribers?q=m%C3%BCller&list=briefing', 'console-subscribers.png');
  await shoot(`/subscribers/${jörg.id}`, 'console-subscriber.png', 1280);
  await shoot('/lists', 'console-lists.png');
  await shoot('/import?list=briefing', 'console-import.png', 1280, async (page) => {
    const rows = ['email,name,lang', 'neu@leser.example,Neue Leserin,de', 'kaputt-ohne-at,Kaputt,de', 'second@leser.example,"Zweite, Leserin",en', 'third@leser.example,Dritte,fr'];
    for (let i = 0; i < 5000; i++) rows.push(`bulk${i}@import.example,Bulk ${i},en`);
    await page.setInputFiles('input[type=file]', { name: 'leser.csv', mimeType: 'text/csv', buffer: Buffer.from(rows.join('\n')) });
    await page.click('#import button[type=submit]');
    await page.waitForSelector('#summary');
  });
} finally {
  await browser.close();
  await ops.close();
}
