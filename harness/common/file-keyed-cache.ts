/**
 * A small per-user cache of facts about files that only change when the file does (a binary's
 * `-version` line, `bpftrace --version`): keyed by path, inode, mtime and size, kept in memory and
 * in one JSON file of the cache dir. Running a 12 MB bitcoind or a bpftrace just to ask its version
 * costs 0.1–0.5 s here, on every CLI run.
 */
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { defaultCacheDir } from './cache-dir.js';

/** The key of these files as they are now, or undefined when one cannot be stat'ed. */
export function fileKey(paths: readonly string[]): string | undefined {
  try {
    return paths
      .map((path) => {
        const s = statSync(path);
        return `${path}\0${s.ino}\0${s.mtimeMs}\0${s.size}`;
      })
      .join('\0\0');
  } catch {
    return undefined;
  }
}

const memory = new Map<string, Map<string, string>>();

function load(file: string): Map<string, string> {
  let entries = memory.get(file);
  if (!entries) {
    entries = new Map();
    try {
      for (const [k, v] of Object.entries(JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>)) if (typeof v === 'string') entries.set(k, v);
    } catch {
      /* no cache yet, or a damaged one: start over */
    }
    memory.set(file, entries);
  }
  return entries;
}

/** The cached value for these files in the named cache (e.g. 'bitcoind-versions'), if any. */
export function cachedFact(name: string, key: string, cacheDir = defaultCacheDir()): string | undefined {
  return load(join(cacheDir, `${name}.json`)).get(key);
}

/** Remember a value; a read-only cache dir only costs the next run another look. */
export function rememberFact(name: string, key: string, value: string, cacheDir = defaultCacheDir()): void {
  const file = join(cacheDir, `${name}.json`);
  const entries = load(file);
  entries.set(key, value);
  try {
    mkdirSync(dirname(file), { recursive: true });
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify(Object.fromEntries(entries)));
    renameSync(temp, file);
  } catch {
    /* see above */
  }
}
