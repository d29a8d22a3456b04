/**
 * Some bitcoinds are shell wrappers that exec the real ELF (e.g. an extracted Debian package run
 * through its own loader). The tracer only sees the wrapper, but the doctor can still say what the
 * ELF behind it carries, so the fix names the right cause.
 */
import { open, stat } from 'node:fs/promises';

const SCRIPT_HEAD_BYTES = 4096;
const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);
/** Absolute paths ending in /bitcoind, quoted or not. */
const BITCOIND_PATH = /(?<![\w/.-])(\/[^\s"'`;|&<>]*\/bitcoind)(?![\w.-])/g;

async function head(path: string, length: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

async function isElfFile(path: string): Promise<boolean> {
  try {
    if (!(await stat(path)).isFile()) return false;
    return (await head(path, 4)).equals(ELF_MAGIC);
  } catch {
    return false;
  }
}

export async function isScript(path: string): Promise<boolean> {
  return (await head(path, 2).catch(() => Buffer.alloc(0))).toString('latin1') === '#!';
}

/**
 * The last ELF named `…/bitcoind` in a `#!` script: in `exec LOADER … /real/bitcoind "$@"` the
 * loader comes first and the program last. Undefined when the file is no script or names none.
 */
export async function elfBehindScript(path: string): Promise<string | undefined> {
  if (!(await isScript(path))) return undefined;
  const text = (await head(path, SCRIPT_HEAD_BYTES)).toString('utf8');
  const candidates = [...text.matchAll(BITCOIND_PATH)].map((m) => m[1] ?? '').filter(Boolean);
  for (const candidate of candidates.reverse()) {
    if (await isElfFile(candidate)) return candidate;
  }
  return undefined;
}
