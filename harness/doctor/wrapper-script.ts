/**
 * Some bitcoinds are shell wrappers that exec the real ELF (e.g. an extracted Debian package run
 * through its own loader). The tracer only sees the wrapper, but the doctor can still say what the
 * ELF behind it carries, so the fix names the right cause.
 */
import { stat } from 'node:fs/promises';
import { isElf, readHead } from '../binary.js';

const SCRIPT_HEAD_BYTES = 4096;
/** Absolute paths ending in /bitcoind, quoted or not. */
const BITCOIND_PATH = /(?<![\w/.-])(\/[^\s"'`;|&<>]*\/bitcoind)(?![\w.-])/g;

async function isElfFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile() && (await isElf(path));
  } catch {
    return false;
  }
}

export async function isScript(path: string): Promise<boolean> {
  return (await readHead(path, 2).catch(() => Buffer.alloc(0))).toString('latin1') === '#!';
}

/**
 * The last ELF named `…/bitcoind` in a `#!` script: in `exec LOADER … /real/bitcoind "$@"` the
 * loader comes first and the program last. Undefined when the file is no script or names none.
 */
export async function elfBehindScript(path: string): Promise<string | undefined> {
  if (!(await isScript(path))) return undefined;
  const text = (await readHead(path, SCRIPT_HEAD_BYTES)).toString('utf8');
  const candidates = [...text.matchAll(BITCOIND_PATH)].map((m) => m[1] ?? '').filter(Boolean);
  for (const candidate of candidates.reverse()) {
    if (await isElfFile(candidate)) return candidate;
  }
  return undefined;
}
