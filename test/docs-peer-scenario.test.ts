import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

test('the spec in docs/writing-a-peer-scenario.md is the one test/scenarios/docs-peer-example.test.ts runs', () => {
  const doc = readFileSync(join(root, 'docs', 'writing-a-peer-scenario.md'), 'utf8');
  const blocks = [...doc.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const example = blocks.find((b) => b.startsWith('// test/scenarios/docs-peer-example.test.ts'));
  expect(example, 'the doc has no block starting with the spec file name').toBeDefined();
  expect(example).toBe(readFileSync(join(root, 'test', 'scenarios', 'docs-peer-example.test.ts'), 'utf8'));
});
