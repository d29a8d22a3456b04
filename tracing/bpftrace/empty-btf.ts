/**
 * A BTF blob that describes no types, for BPFTRACE_BTF. bpftrace ≥ 0.20 parses the kernel's whole
 * BTF, twice, while starting (~0.15 s of its ~0.6 s attach here, measured with strace), though the
 * generated program reads no kernel type (program.ts: the flush probe matches on `comm`, not on
 * the syscall's arguments). Pointed at this blob, it skips that work. Only one-body programs use it
 * (session.ts): that is where it was checked, on bpftrace 0.23.
 */
import { closeSync, constants, lstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { defaultCacheDir } from '../../harness/common/cache-dir.js';

/** struct btf_header (magic 0xeB9F, version 1, hdr_len 24, no types, a 1-byte string section) and that section's NUL. */
export const EMPTY_BTF = Buffer.from([0x9f, 0xeb, 1, 0, 24, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
const FILE_NAME = 'bpftrace-empty.btf';

/** Whether `path` is our own regular file holding exactly the blob (never followed if it is a link). */
function isOurs(path: string): boolean {
  try {
    const info = lstatSync(path);
    if (!info.isFile() || info.uid !== process.getuid?.() || info.size !== EMPTY_BTF.length) return false;
    return readFileSync(path).equals(EMPTY_BTF);
  } catch {
    return false;
  }
}

/** The blob's path in the per-user cache dir, written there if needed; undefined if that cannot be done (bpftrace then reads the kernel's BTF). */
export function emptyBtfPath(cacheDir = defaultCacheDir()): string | undefined {
  const path = join(cacheDir, FILE_NAME);
  if (isOurs(path)) return path;
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
    const fd = openSync(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      writeSync(fd, EMPTY_BTF);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path); // replaces whatever was there, a link included, without following it
    return isOurs(path) ? path : undefined;
  } catch {
    try {
      rmSync(temporary, { force: true });
    } catch {
      /* the directory itself is unusable: nothing was written */
    }
    return undefined;
  }
}
