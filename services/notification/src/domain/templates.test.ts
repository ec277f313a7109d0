import { test } from 'node:test';
import assert from 'node:assert/strict';
import { csvCell, toCsv } from './csv';
import { webhookBody, type NoticeContent } from './payload';
import { escapeHtml, languageFor, renderDigestEmail, renderNoticeEmail } from './templates';

const content: NoticeContent = {
  noticeId: '0b6f1c1a-3c1e-5a7e-9b4d-2f0f3e8a9c61',
  kind: 'initial',
  provider: { id: 'demo-hosting', name: 'Demo <Hosting> B.V.' },
  sentAt: new Date('2025-01-15T10:00:00Z'),
  items: [
    { reportId: 'partner-a:1', caseKey: 'a'.repeat(64), caseId: `${'a'.repeat(64)}.1`, url: 'https://files.example/a.jpg?x=1&y="2"', deadlineAt: new Date('2025-01-16T10:00:00Z') },
    { reportId: 'partner-a:2', caseKey: 'b'.repeat(64), url: 'https://files.example/b,c.jpg', deadlineAt: new Date('2025-01-15T11:00:00Z') },
  ],
  respondTo: 'https://hashcheck.example/v1/removals',
};

test('English and Dutch notices list every URL with its deadline, in text and HTML', () => {
  const en = renderNoticeEmail(content, 'en');
  assert.equal(en.subject, `Takedown notice: 2 URLs [HashCheck ${content.noticeId}]`);
  assert.ok(en.text.includes('Dear abuse team of Demo <Hosting> B.V.,'));
  assert.ok(en.text.includes('1. https://files.example/a.jpg?x=1&y="2"'));
  assert.ok(en.text.includes('Remove before: 16/01/2025, 11:00 (Europe/Amsterdam) — 2025-01-16T10:00:00Z'), en.text);
  assert.ok(en.text.includes('https://hashcheck.example/v1/removals'));
  assert.ok(en.html.includes('Demo &lt;Hosting&gt; B.V.'), 'HTML escapes provider data');
  assert.ok(en.html.includes('<code>https://files.example/a.jpg?x=1&amp;y=&quot;2&quot;</code>'));
  assert.ok(!/<a\s/i.test(en.html), 'URLs are never links');
  const nl = renderNoticeEmail({ ...content, kind: 'renotice', attempt: 2, reason: 'deadline-passed' }, 'nl');
  assert.equal(nl.subject, `HERHAALD verzoek tot verwijdering: 2 URL's [HashCheck ${content.noticeId}]`);
  assert.ok(nl.text.includes('Geacht abuse-team van Demo <Hosting> B.V.,'));
  assert.ok(nl.text.includes('herhaald verzoek (poging 2); reden: deadline-passed'));
  assert.ok(nl.text.includes('Uiterlijk verwijderd op: 16-01-2025, 11:00 (Europe/Amsterdam)'), nl.text);
  assert.ok(nl.html.startsWith('<!DOCTYPE html>') && nl.html.includes('lang="nl"'));
});

test('the CSV attachment holds the same URLs, quoted where needed', () => {
  const { csv, csvFilename } = renderNoticeEmail(content, 'en');
  assert.equal(csvFilename, `hashcheck-notice-${content.noticeId}.csv`);
  const lines = csv.trimEnd().split('\r\n');
  assert.equal(lines[0], 'url,deadline_utc,report_id,case_id,notice_id');
  assert.equal(lines[1], `"https://files.example/a.jpg?x=1&y=""2""",2025-01-16T10:00:00Z,partner-a:1,${'a'.repeat(64)}.1,${content.noticeId}`);
  assert.equal(lines[2], `"https://files.example/b,c.jpg",2025-01-15T11:00:00Z,partner-a:2,,${content.noticeId}`);
  assert.equal(csvCell('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
  assert.equal(csvCell('-1'), "'-1");
  assert.equal(toCsv(['a'], []), 'a\r\n');
});

test('the webhook body is JSON with ISO deadlines and the notice id', () => {
  const body = JSON.parse(webhookBody({ ...content, kind: 'renotice', requestId: 'r-1', attempt: 2, reason: 'deadline-passed' }));
  assert.equal(body.type, 'hashcheck.takedown-notice');
  assert.equal(body.noticeId, content.noticeId);
  assert.equal(body.requestId, 'r-1');
  assert.equal(body.items[0].deadlineAt, '2025-01-16T10:00:00.000Z');
  assert.equal(body.items[1].caseId, undefined);
  assert.equal(webhookBody(content), webhookBody(content), 'serialisation is deterministic');
});

test('digests carry counts only', () => {
  const d = renderDigestEmail({ digestId: 'd-1', seriesId: 'series-42', reference: 'IM-2025-007', createdAt: new Date(), counts: { found: 5, removed: 5, online: 0, newlyFound: 0, newlyRemoved: 2 } }, 'en');
  assert.equal(d.subject, 'HashCheck digest IM-2025-007: everything removed');
  assert.ok(d.text.includes('Found in total: 5'));
  assert.ok(d.text.includes('Removed since the previous digest: 2'));
  assert.ok(!/https?:|[0-9a-f]{32}/.test(d.text + d.html), 'no URLs or hashes');
  const nl = renderDigestEmail({ digestId: 'd-2', seriesId: 'series-42', createdAt: new Date(), counts: { found: 3, removed: 1, online: 2, newlyFound: 1, newlyRemoved: 0 } }, 'nl');
  assert.equal(nl.subject, 'HashCheck-overzicht series-42');
  assert.ok(nl.text.includes('Nog online: 2'));
});

test('language: auto picks Dutch for NL and BE, English otherwise; a fixed setting wins', () => {
  assert.equal(languageFor('auto', 'NL'), 'nl');
  assert.equal(languageFor('auto', 'DE'), 'en');
  assert.equal(languageFor('auto', undefined), 'en');
  assert.equal(languageFor('en', 'NL'), 'en');
  assert.equal(escapeHtml(`<'&">`), '&lt;&#39;&amp;&quot;&gt;');
});
