import { rm } from 'node:fs/promises';
import { guardPath, releasePath } from './common/child-process/reaper.js';
import { HarnessError } from './common/errors.js';

export interface NetworkDir {
  /** The network's own directory (mode 0700); node datadirs are `node<i>` inside. */
  path: string;
  /** Removes it (a no-op when kept). */
  remove(): Promise<void>;
  /** Keep it after all (e.g. a node crashed): remove() becomes a no-op and the watchdog lets it be. */
  keep(): void;
  /** Whether it stays after remove(). */
  readonly kept: boolean;
}

/**
 * A fresh private directory for one network, guarded by the reaper (harness/common/child-process/reaper.ts)
 * so it is removed even if this process is SIGKILLed; `keep` leaves it for inspection.
 */
export async function makeNetworkDir(rootDir: string | undefined, keep: boolean): Promise<NetworkDir> {
  let path: string;
  try {
    const { dir: makeTempDir } = await import('tmp-promise'); // loaded by commands that start a network only
    ({ path } = await makeTempDir({ prefix: 'regtest-harness-', mode: 0o700, ...(rootDir === undefined ? {} : { tmpdir: rootDir }) }));
  } catch (error) {
    throw new HarnessError('DATADIR_UNWRITABLE', `cannot create the network directory under ${rootDir ?? 'the system temp dir'}: ${(error as Error).message}`, {
      fix: 'pass a writable directory as rootDir (--datadir-root), or leave it unset to use the system temp dir',
      cause: error,
    });
  }
  if (keep) return { path, remove: async () => undefined, keep: () => undefined, kept: true };
  guardPath(path);
  let kept = false;
  return {
    path,
    remove: async () => {
      if (kept) return;
      await rm(path, { recursive: true, force: true });
      releasePath(path);
    },
    keep: () => {
      kept = true;
      releasePath(path);
    },
    get kept() {
      return kept;
    },
  };
}
