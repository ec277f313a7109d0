/**
 * Renders docs/asyncapi.yaml from the registry and the golden fixtures. Run after changing an event:
 *   npx tsx libs/events/test/asyncapi-doc.ts --write
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { asyncApiDocument, registry, type EventEnvelope } from '@hashcheck/events';

const here = dirname(fileURLToPath(import.meta.url));
export const ASYNCAPI_PATH = join(here, '..', '..', '..', 'docs', 'asyncapi.yaml');
const FIXTURES = join(here, '..', 'fixtures');

export function goldenExamples(): Record<string, EventEnvelope> {
  const out: Record<string, EventEnvelope> = {};
  for (const f of readdirSync(FIXTURES).filter((x) => x.endsWith('.json'))) {
    const parsed = JSON.parse(readFileSync(join(FIXTURES, f), 'utf8')) as EventEnvelope | EventEnvelope[];
    const first = Array.isArray(parsed) ? parsed[0] : parsed;
    if (first) out[f.replace(/\.json$/, '')] = first;
  }
  return out;
}

export function renderAsyncApi(): string {
  const pkg = JSON.parse(readFileSync(join(here, '..', 'package.json'), 'utf8')) as { version: string };
  const doc = asyncApiDocument(registry, { version: pkg.version, examples: goldenExamples() });
  return `# Generated from libs/events (registry, schemas, golden fixtures) by libs/events/test/asyncapi-doc.ts --write.\n# libs/events/test/asyncapi.test.ts fails when this file and the code disagree.\n${stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false })}`;
}

if (process.argv.includes('--write')) {
  writeFileSync(ASYNCAPI_PATH, renderAsyncApi());
  process.stdout.write(`wrote ${ASYNCAPI_PATH}\n`);
}
