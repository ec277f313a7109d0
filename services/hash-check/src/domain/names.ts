/** Identifier rules shared by the APIs, the importer and the events. */
export const SLUG = /^[a-z0-9][a-z0-9-]*$/;
export const LIST_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;
export const SERIES_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;

export const LIST_SOURCES = ['police', 'interpol', 'ncmec', 'hotline', 'partner', 'other'] as const;
export type ListSource = (typeof LIST_SOURCES)[number];

export function isCategory(v: unknown): v is string {
  return typeof v === 'string' && v.length >= 1 && v.length <= 64 && SLUG.test(v);
}

export function isSeriesId(v: unknown): v is string {
  return typeof v === 'string' && v.length >= 1 && v.length <= 128 && SERIES_ID.test(v);
}
