import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium, type Page } from 'playwright-core';
import { Topics, type EventEnvelope } from '@hashcheck/events';
import { infra, waitFor } from '@hashcheck/testing';
import { ManualClock } from '@hashcheck/enforcement';
import { bearer, dropDatabaseAfter, H, issueKey, item, matched, newEnv, noticeSent, providerState, publish, Publish, removalReported, startInstance } from './helpers';

/** Debian's package; `.ci/run` installs it with `apt-get install -y chromium`. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];

async function columnTexts(page: Page, key: string): Promise<string[]> {
  return page.$$eval(`#providers tbody td[data-key="${key}"]`, (tds) => tds.map((td) => td.textContent ?? ''));
}

test('the monitor page: totals, the time-to-removal chart and a provider table sortable by each column, in headless Chromium', async (t) => {
  const inf = infra(t);
  if (!inf) return;
  if (!existsSync(CHROMIUM)) {
    t.skip(`needs Chromium at ${CHROMIUM} (Debian: apt-get install -y chromium; or set CHROMIUM_PATH)`);
    return;
  }
  const env = newEnv(inf);
  dropDatabaseAfter(t, env);
  const clock = new ManualClock(Date.UTC(2025, 2, 3, 9));
  const app = await startInstance(t, env, clock);
  await publish(app, Topics.providers, [providerState('acme-hosting', 'NL', 'hosting-nl', 'Acme Hosting'), providerState('beta-cloud', 'DE', 'hosting-eu', 'Beta Cloud'), providerState('gamma-files', 'BE', 'file-host', 'Gamma Files')]);
  const officer = await issueKey(app, env, { scope: 'regulator', label: 'officer-7' });

  // Removal times per provider, in hours from the notice; one beta item stays online.
  const plan: Record<string, number[]> = { 'acme-hosting': [1, 5, 30], 'beta-cloud': [2], 'gamma-files': [10, 50] };
  const t0 = clock.now();
  const removals: EventEnvelope[] = [];
  for (const [provider, hours] of Object.entries(plan)) {
    const items = hours.map((_, i) => item(`page-${provider}-${i}`, provider));
    if (provider === 'beta-cloud') items.push(item('page-beta-open', provider));
    await Publish.matched(app, items.map((it) => matched(it, t0)));
    await Publish.notices(app, [noticeSent(`n-page-${provider}`, items, t0)]);
    hours.forEach((h, i) => removals.push(removalReported({ caseId: items[i]!.caseId, observedAt: new Date(t0.getTime() + h * H).toISOString(), status: 'removed', reporter: 'recheck' })));
  }
  await waitFor(async () => (await app.enforcement.cases.find({})).length === 7, { what: 'seven cases' });
  clock.advance(60 * H);
  await publish(app, Topics.removalsReported, removals);
  await waitFor(async () => {
    const r = (await app.inject({ url: '/v1/monitor/providers', headers: bearer(officer) })).json() as { totals: { removed: number; providers: number } };
    return r.totals.removed === 6 && r.totals.providers === 3;
  }, { what: 'monitor figures for six removals' });

  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  t.after(() => browser.close());
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });

  const response = await page.goto(`${address}/monitor`);
  assert.match(response?.headers()['content-security-policy'] ?? '', /script-src 'self'/);
  await page.waitForSelector('#login:not([hidden])');
  await page.fill('#key', 'hck_0000000000000000_wrongwrongwrongwrongwrongwrongwrongwrongwro');
  await page.click('#login button');
  await page.waitForSelector('#error:not([hidden])');
  assert.match(await page.textContent('#error') ?? '', /refused/);
  problems.length = 0; // the refused key logs a 401 on purpose

  await page.fill('#key', officer);
  await page.click('#login button');
  await page.waitForSelector('body[data-state="loaded"]');
  assert.equal(await page.textContent('#t-removed'), '6');
  assert.equal(await page.textContent('#t-providers'), '3');
  assert.equal(await page.textContent('#t-outstanding'), '1');
  assert.equal(await page.textContent('#t-within'), '66.7%', 'four of six removed within 24 h');

  // The chart: one bar per bucket, heights from the counts.
  const bars = await page.$$eval('#distribution rect.bar', (rs) => rs.map((r) => ({ label: r.getAttribute('data-label'), count: Number(r.getAttribute('data-count')), height: Number(r.getAttribute('height')) })));
  assert.deepEqual(bars.map((b) => [b.label, b.count]), [['< 1h', 0], ['1h–6h', 3], ['6h–12h', 1], ['12h–24h', 0], ['24h–2d', 1], ['2d–7d', 1], ['≥ 7d', 0]]);
  const tallest = bars.find((b) => b.count === 3)!.height;
  assert.ok(tallest > 0 && Math.abs(bars.find((b) => b.label === '6h–12h')!.height * 3 - tallest) < 0.5, 'bar heights follow the counts');
  assert.equal(await page.$$eval('#distribution rect.late', (rs) => rs.length), 3, 'buckets past 24 h are marked late');

  // The table, sortable by every column; missing values stay last.
  assert.deepEqual(await columnTexts(page, 'name'), ['Acme Hosting', 'Beta Cloud', 'Gamma Files']);
  await page.click('#providers th[data-key="medianSeconds"] button');
  assert.equal(await page.getAttribute('#providers th[data-key="medianSeconds"]', 'aria-sort'), 'ascending');
  assert.deepEqual(await columnTexts(page, 'name'), ['Beta Cloud', 'Acme Hosting', 'Gamma Files']);
  assert.deepEqual(await columnTexts(page, 'medianSeconds'), ['2h', '5h', '1d 6h']);
  await page.click('#providers th[data-key="medianSeconds"] button');
  assert.equal(await page.getAttribute('#providers th[data-key="medianSeconds"]', 'aria-sort'), 'descending');
  assert.deepEqual(await columnTexts(page, 'name'), ['Gamma Files', 'Acme Hosting', 'Beta Cloud']);
  await page.click('#providers th[data-key="outstanding"] button');
  assert.deepEqual(await columnTexts(page, 'outstanding'), ['0', '0', '1']);
  assert.equal(await page.getAttribute('#providers th[data-key="medianSeconds"]', 'aria-sort'), null, 'one sorted column at a time');
  await page.click('#providers th[data-key="withinDeadlineShare"] button');
  assert.deepEqual(await columnTexts(page, 'withinDeadlineShare'), ['50%', '66.7%', '100%']);
  await page.click('#providers th[data-key="country"] button');
  await page.click('#providers th[data-key="country"] button');
  assert.deepEqual(await columnTexts(page, 'country'), ['NL', 'DE', 'BE']);
  for (const key of await page.$$eval('#providers thead th', (ths) => ths.map((th) => th.getAttribute('data-key')!))) {
    await page.click(`#providers th[data-key="${key}"] button`);
    assert.equal(await page.getAttribute(`#providers th[data-key="${key}"]`, 'aria-sort'), 'ascending', key);
    assert.equal((await columnTexts(page, key)).length, 3);
  }
  assert.deepEqual(await page.$$eval('#countries tbody td[data-key="country"]', (tds) => tds.map((td) => td.textContent)), ['BE', 'DE', 'NL']);

  // The chart for one provider.
  await page.selectOption('#dist-provider', 'gamma-files');
  await page.waitForSelector('#distribution[data-total="2"]');
  const gamma = await page.$$eval('#distribution rect.bar', (rs) => rs.filter((r) => r.getAttribute('data-count') !== '0').map((r) => r.getAttribute('data-label')));
  assert.deepEqual(gamma, ['6h–12h', '2d–7d']);
  assert.deepEqual(problems, [], 'no script errors');
});
