/**
 * RFC 4180 CSV. Cells that a spreadsheet would run as a formula (leading = + - @ tab CR) get a
 * leading apostrophe: the file is opened by abuse desks, and its content comes from reports.
 */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function toCsv(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  return [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n';
}
