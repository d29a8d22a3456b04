import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

/**
 * The dependency direction of the source folders, as README "How it works" draws it:
 *   common core → tracing → mechanisms → policies → scenarios → front-ends.
 * A module may import its own layer or a lower one. Front-ends (the CLI, the vitest adapter,
 * the package's entry barrel) are imported by nothing outside them.
 */
const LAYERS: readonly { name: string; owns: (path: string) => boolean }[] = [
  { name: 'common core (harness/common)', owns: (p) => p.startsWith('harness/common/') },
  { name: 'tracing', owns: (p) => p.startsWith('tracing/') },
  { name: 'mechanisms (harness)', owns: (p) => p.startsWith('harness/') && !/^harness\/(doctor|cli|vitest)\//.test(p) && p !== 'harness/index.ts' },
  { name: 'policies (harness/doctor)', owns: (p) => p.startsWith('harness/doctor/') },
  { name: 'scenarios', owns: (p) => p.startsWith('scenarios/') },
  { name: 'front-ends (harness/cli, harness/vitest, harness/index.ts)', owns: (p) => /^harness\/(cli|vitest)\//.test(p) || p === 'harness/index.ts' },
];

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function layerOf(path: string): number {
  const index = LAYERS.findIndex((layer) => layer.owns(path));
  if (index < 0) throw new Error(`${path} belongs to no layer: add it to LAYERS in test/layers.test.ts`);
  return index;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Relative specifiers of static imports, re-exports and dynamic imports, resolved to repository paths. */
export function importsOf(path: string, source: string): string[] {
  const specifiers = [...source.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm)].map((m) => m[1]!);
  return specifiers.map((spec) => relative(root, normalize(join(root, dirname(path), spec))).replace(/\.js$/, '.ts'));
}

interface Edge {
  from: string;
  to: string;
  why: string;
}

function upwardEdges(files: readonly string[], read: (path: string) => string): Edge[] {
  const edges: Edge[] = [];
  for (const from of files) {
    const fromLayer = layerOf(from);
    for (const to of importsOf(from, read(from))) {
      const toLayer = layerOf(to);
      const frontEnd = LAYERS.length - 1;
      if (toLayer > fromLayer) edges.push({ from, to, why: `${LAYERS[fromLayer]!.name} must not import ${LAYERS[toLayer]!.name}` });
      else if (toLayer === frontEnd && fromLayer !== frontEnd) edges.push({ from, to, why: 'only front-ends import front-ends' });
    }
  }
  return edges;
}

const files = ['harness', 'tracing', 'scenarios'].flatMap(sourceFiles);
const readSource = (path: string) => readFileSync(join(root, path), 'utf8');

describe('import layers', () => {
  test('every edge points down (or stays in its layer)', () => {
    const edges = upwardEdges(files, readSource);
    expect(edges.map((e) => `${e.from} → ${e.to}: ${e.why}`)).toEqual([]);
  });

  test('harness/common imports nothing else of ours', () => {
    const outside = files.filter((f) => f.startsWith('harness/common/')).flatMap((from) => importsOf(from, readSource(from)).filter((to) => !to.startsWith('harness/common/')).map((to) => `${from} → ${to}`));
    expect(outside).toEqual([]);
  });

  test('the check names an upward edge when one is planted', () => {
    // The rule itself, on a made-up file: tracing importing a mechanism must be reported, with both ends.
    const planted = upwardEdges(['tracing/planted.ts'], () => "import { Network } from '../harness/network.js';\n");
    expect(planted).toEqual([{ from: 'tracing/planted.ts', to: 'harness/network.ts', why: 'tracing must not import mechanisms (harness)' }]);
    const frontEnd = upwardEdges(['scenarios/planted.ts'], () => "export { test } from '../harness/vitest/fixture.js';\n");
    expect(frontEnd[0]?.why).toMatch(/must not import front-ends/);
  });

  test('process groups are signalled only by the child-process module', () => {
    const killers = files.filter((f) => readSource(f).includes('process.kill(-') && !f.startsWith('harness/common/child-process/'));
    expect(killers).toEqual([]);
  });
});
