/**
 * A private copy of the binary for one conformance run. uprobes and their semaphores belong to an
 * inode: a tracer of the same file elsewhere on the machine (a pid-mode bpftrace registers its
 * uprobes without the semaphore offset) makes the kernel refuse ours with EINVAL ("cannot attach
 * uprobe, Invalid argument"). Its own inode keeps the suite independent of whoever else traces.
 */
import { chmod, copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { identifyBinary, type BitcoindBinary } from '../binary.js';
import { guardPath, releasePath } from '../common/child-process/reaper.js';

export interface PrivateBinary {
  binary: BitcoindBinary;
  dispose(): Promise<void>;
}

export async function privateCopy(binary: BitcoindBinary, rootDir?: string): Promise<PrivateBinary> {
  // A wrapper script (Debian's bitcoind) runs its ELF through its own loader: keep it as it is.
  if (binary.path !== binary.elfPath) return { binary, dispose: async () => undefined };
  const dir = await mkdtemp(join(rootDir ?? tmpdir(), 'regtest-conformance-'));
  guardPath(dir);
  const dispose = async () => {
    await rm(dir, { recursive: true, force: true });
    releasePath(dir);
  };
  try {
    const copy = join(dir, 'bitcoind');
    await copyFile(binary.elfPath, copy);
    await chmod(copy, 0o755);
    const identified = await identifyBinary(copy, binary.source, binary.reason);
    return { binary: identified, dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}
