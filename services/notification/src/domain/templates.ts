import { toCsv } from './csv';
import { ItemKind } from './grouping';
import type { NoticeContent } from './payload';

export const Language = { NL: 'nl', EN: 'en' } as const;
export type LanguageValue = (typeof Language)[keyof typeof Language];
export const LANGUAGES: readonly LanguageValue[] = [Language.NL, Language.EN];

/** Dutch for Dutch providers, English for everyone else, unless configuration fixes one language. */
export function languageFor(setting: LanguageValue | 'auto', country: string | undefined): LanguageValue {
  if (setting !== 'auto') return setting;
  return country === 'NL' || country === 'BE' || country === 'SR' ? Language.NL : Language.EN;
}

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

export interface RenderedNoticeMail extends RenderedMail {
  csv: string;
  csvFilename: string;
}

const TIME_ZONE = 'Europe/Amsterdam';

function localTime(d: Date, lang: LanguageValue): string {
  const f = new Intl.DateTimeFormat(lang === Language.NL ? 'nl-NL' : 'en-GB', {
    timeZone: TIME_ZONE, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false,
  });
  return `${f.format(d)} (${TIME_ZONE})`;
}

function utc(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

interface NoticeStrings {
  subject: (n: number, noticeId: string, renotice: boolean) => string;
  greeting: (provider: string) => string;
  intro: (n: number) => string;
  renotice: (attempt: number | undefined, reason: string | undefined) => string;
  ask: string;
  noticeId: string;
  sentAt: string;
  url: string;
  deadline: string;
  attachment: (file: string) => string;
  respond: (where: string) => string;
  caution: string;
  footer: (noticeId: string) => string;
}

const NOTICE_STRINGS: Record<LanguageValue, NoticeStrings> = {
  nl: {
    subject: (n, id, re) => `${re ? 'HERHAALD verzoek' : 'Verzoek'} tot verwijdering: ${n} URL${n === 1 ? '' : "'s"} [HashCheck ${id}]`,
    greeting: (p) => `Geacht abuse-team van ${p},`,
    intro: (n) => `HashCheck heeft ${n === 1 ? 'één URL' : `${n} URL's`} in uw netwerk gevonden met materiaal dat overeenkomt met de hashlijst van bekend beeldmateriaal van seksueel kindermisbruik.`,
    renotice: (a, r) => `Dit is een herhaald verzoek${a !== undefined ? ` (poging ${a})` : ''}${r ? `; reden: ${r}` : ''}. Het materiaal was bij de vorige controle nog beschikbaar.`,
    ask: 'Verwijder het materiaal op elke URL hieronder vóór de genoemde termijn en bevestig de verwijdering.',
    noticeId: 'Kenmerk',
    sentAt: 'Verzonden',
    url: 'URL',
    deadline: 'Uiterlijk verwijderd op',
    attachment: (f) => `Dezelfde lijst staat in de bijlage ${f} (CSV).`,
    respond: (w) => `Bevestig verwijdering of maak bezwaar via ${w}, met het kenmerk hierboven.`,
    caution: 'Open of download het materiaal niet als uw procedures dat niet vereisen; verwijderen volstaat.',
    footer: (id) => `Dit bericht is automatisch verzonden door HashCheck. Kenmerk ${id} identificeert dit verzoek; een herhaalde bezorging met hetzelfde kenmerk is hetzelfde verzoek.`,
  },
  en: {
    subject: (n, id, re) => `${re ? 'REPEATED takedown notice' : 'Takedown notice'}: ${n} URL${n === 1 ? '' : 's'} [HashCheck ${id}]`,
    greeting: (p) => `Dear abuse team of ${p},`,
    intro: (n) => `HashCheck found ${n === 1 ? 'one URL' : `${n} URLs`} on your network serving material that matches the hash list of known child sexual abuse material.`,
    renotice: (a, r) => `This is a repeated notice${a !== undefined ? ` (attempt ${a})` : ''}${r ? `; reason: ${r}` : ''}. The material was still available at the last check.`,
    ask: 'Please remove the material at each URL below before its deadline and confirm the removal.',
    noticeId: 'Notice id',
    sentAt: 'Sent',
    url: 'URL',
    deadline: 'Remove before',
    attachment: (f) => `The same list is attached as ${f} (CSV).`,
    respond: (w) => `Confirm the removal or dispute this notice at ${w}, quoting the notice id above.`,
    caution: 'Do not open or download the material unless your procedures require it; removing it is enough.',
    footer: (id) => `This message was sent automatically by HashCheck. Notice id ${id} identifies it; a repeated delivery with the same id is the same notice.`,
  },
};

/** The notice as e-mail: plain text, HTML (same content) and the URLs as a CSV attachment. */
export function renderNoticeEmail(content: NoticeContent, lang: LanguageValue): RenderedNoticeMail {
  const s = NOTICE_STRINGS[lang];
  const n = content.items.length;
  const renotice = content.kind === ItemKind.RENOTICE;
  const csvFilename = `hashcheck-notice-${content.noticeId}.csv`;
  const rows = content.items.map((it) => ({ url: it.url, deadline: `${localTime(it.deadlineAt, lang)} — ${utc(it.deadlineAt)}` }));
  const paragraphs = [
    s.intro(n),
    ...(renotice ? [s.renotice(content.attempt, content.reason)] : []),
    s.ask,
  ];
  const meta = [
    `${s.noticeId}: ${content.noticeId}`,
    `${s.sentAt}: ${localTime(content.sentAt, lang)} — ${utc(content.sentAt)}`,
  ];
  const tail = [
    s.attachment(csvFilename),
    ...(content.respondTo ? [s.respond(content.respondTo)] : []),
    s.caution,
  ];

  const text = [
    s.greeting(content.provider.name),
    '',
    ...paragraphs.flatMap((p) => [p, '']),
    ...meta,
    '',
    ...rows.flatMap((r, i) => [`${i + 1}. ${r.url}`, `   ${s.deadline}: ${r.deadline}`]),
    '',
    ...tail.flatMap((p) => [p, '']),
    '-- ',
    s.footer(content.noticeId),
    '',
  ].join('\n');

  // URLs are shown as text, never as links: nobody should reach the material by a stray click.
  const html = [
    '<!DOCTYPE html>',
    `<html lang="${lang}"><head><meta charset="utf-8"><title>${escapeHtml(s.subject(n, content.noticeId, renotice))}</title></head>`,
    '<body style="font-family: sans-serif; font-size: 14px;">',
    `<p>${escapeHtml(s.greeting(content.provider.name))}</p>`,
    ...paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`),
    `<p>${meta.map(escapeHtml).join('<br>')}</p>`,
    '<table style="border-collapse: collapse;" border="1" cellpadding="4">',
    `<thead><tr><th>#</th><th>${escapeHtml(s.url)}</th><th>${escapeHtml(s.deadline)}</th></tr></thead>`,
    '<tbody>',
    ...rows.map((r, i) => `<tr><td>${i + 1}</td><td><code>${escapeHtml(r.url)}</code></td><td>${escapeHtml(r.deadline)}</td></tr>`),
    '</tbody></table>',
    ...tail.map((p) => `<p>${escapeHtml(p)}</p>`),
    `<p style="color: #666; font-size: 12px;">${escapeHtml(s.footer(content.noticeId))}</p>`,
    '</body></html>',
    '',
  ].join('\n');

  const csv = toCsv(
    ['url', 'deadline_utc', 'report_id', 'case_id', 'notice_id'],
    content.items.map((it) => [it.url, utc(it.deadlineAt), it.reportId, it.caseId ?? '', content.noticeId]),
  );
  return { subject: s.subject(n, content.noticeId, renotice), text, html, csv, csvFilename };
}

/** A victim digest holds counts and statuses only: no URLs, no hashes, no providers, no content. */
export interface DigestCounts {
  /** Cases found for the series so far (false positives and withdrawn reports left out). */
  found: number;
  /** Of those, taken down. */
  removed: number;
  /** Of those, still online (found, or notified and not yet removed). */
  online: number;
  /** Found since the previous digest. */
  newlyFound: number;
  /** Removed since the previous digest. */
  newlyRemoved: number;
}

export interface DigestContent {
  digestId: string;
  seriesId: string;
  /** The intermediary's own reference for the person, if it gave one; never a name. */
  reference?: string;
  createdAt: Date;
  counts: DigestCounts;
}

interface DigestStrings {
  subject: (ref: string, allRemoved: boolean) => string;
  intro: (ref: string) => string;
  found: string;
  removed: string;
  online: string;
  newlyFound: string;
  newlyRemoved: string;
  allRemoved: string;
  nothing: string;
  privacy: string;
  footer: (id: string) => string;
}

const DIGEST_STRINGS: Record<LanguageValue, DigestStrings> = {
  nl: {
    subject: (ref, all) => `HashCheck-overzicht ${ref}${all ? ': alles verwijderd' : ''}`,
    intro: (ref) => `Overzicht voor ${ref}, op verzoek van de betrokkene, met alleen aantallen en statussen.`,
    found: 'Gevonden in totaal',
    removed: 'Verwijderd',
    online: 'Nog online',
    newlyFound: 'Nieuw gevonden sinds het vorige overzicht',
    newlyRemoved: 'Verwijderd sinds het vorige overzicht',
    allRemoved: 'Alles wat tot nu toe is gevonden, is verwijderd.',
    nothing: 'Er is nog niets gevonden.',
    privacy: 'Dit overzicht bevat bewust geen adressen, hashes, namen van bedrijven of beeldmateriaal.',
    footer: (id) => `Automatisch verzonden door HashCheck (overzicht ${id}).`,
  },
  en: {
    subject: (ref, all) => `HashCheck digest ${ref}${all ? ': everything removed' : ''}`,
    intro: (ref) => `Digest for ${ref}, as the person asked, with counts and statuses only.`,
    found: 'Found in total',
    removed: 'Removed',
    online: 'Still online',
    newlyFound: 'Newly found since the previous digest',
    newlyRemoved: 'Removed since the previous digest',
    allRemoved: 'Everything found so far has been removed.',
    nothing: 'Nothing has been found yet.',
    privacy: 'This digest deliberately contains no addresses, hashes, company names or imagery.',
    footer: (id) => `Sent automatically by HashCheck (digest ${id}).`,
  },
};

export function renderDigestEmail(content: DigestContent, lang: LanguageValue): RenderedMail {
  const s = DIGEST_STRINGS[lang];
  const ref = content.reference ?? content.seriesId;
  const c = content.counts;
  const allRemoved = c.found > 0 && c.removed === c.found;
  const lines: Array<[string, number]> = [
    [s.found, c.found],
    [s.removed, c.removed],
    [s.online, c.online],
    [s.newlyFound, c.newlyFound],
    [s.newlyRemoved, c.newlyRemoved],
  ];
  const summary = c.found === 0 ? s.nothing : allRemoved ? s.allRemoved : undefined;
  const text = [
    s.intro(ref),
    '',
    ...lines.map(([k, v]) => `${k}: ${v}`),
    '',
    ...(summary ? [summary, ''] : []),
    s.privacy,
    '',
    '-- ',
    s.footer(content.digestId),
    '',
  ].join('\n');
  const html = [
    '<!DOCTYPE html>',
    `<html lang="${lang}"><head><meta charset="utf-8"><title>${escapeHtml(s.subject(ref, allRemoved))}</title></head>`,
    '<body style="font-family: sans-serif; font-size: 14px;">',
    `<p>${escapeHtml(s.intro(ref))}</p>`,
    '<table cellpadding="4">',
    ...lines.map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td style="text-align: right;">${v}</td></tr>`),
    '</table>',
    ...(summary ? [`<p>${escapeHtml(summary)}</p>`] : []),
    `<p>${escapeHtml(s.privacy)}</p>`,
    `<p style="color: #666; font-size: 12px;">${escapeHtml(s.footer(content.digestId))}</p>`,
    '</body></html>',
    '',
  ].join('\n');
  return { subject: s.subject(ref, allRemoved), text, html };
}
