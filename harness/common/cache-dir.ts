import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Where the per-user provisioning cache is, and where a private-root install (a Debian package
 * unpacked there, harness/provision/debian.ts) puts its program wrappers. Here, in the common core,
 * because the tracer (tracing/bpftrace/locate.ts) looks for the private bpftrace without the
 * provisioning layer.
 */

/** `$REGTEST_HARNESS_CACHE`, else `${XDG_CACHE_HOME:-~/.cache}/regtest-harness`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.REGTEST_HARNESS_CACHE) return env.REGTEST_HARNESS_CACHE;
  const base = env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache');
  return join(base, 'regtest-harness');
}

/** Debian's name for a Node architecture (the ones harness/provision/platform.ts supports). */
const DEBIAN_ARCH: Partial<Record<NodeJS.Architecture, string>> = { x64: 'amd64', arm64: 'arm64' };

/** The install directory of a private-root package, or undefined on an unsupported architecture. */
export function privateRootDir(cacheDir: string, packageName: string, arch: NodeJS.Architecture = process.arch): string | undefined {
  const debianArch = DEBIAN_ARCH[arch];
  return debianArch ? join(cacheDir, 'debian', `${packageName}-${debianArch}`) : undefined;
}
