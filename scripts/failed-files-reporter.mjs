// A node:test reporter that writes the files whose top-level tests failed, one per line, so the
// test script can run them once more (scripts/test.ts). Plain JavaScript: reporters are loaded by
// node itself, before tsx.
export default async function* failedFiles(source) {
  const failed = new Set();
  for await (const event of source) {
    if (event.type === 'test:fail' && event.data.nesting === 0 && event.data.file) failed.add(event.data.file);
  }
  yield [...failed].map((f) => `${f}\n`).join('');
}
