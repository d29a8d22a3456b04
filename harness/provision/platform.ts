import { HarnessError } from '../common/errors.js';

/** The names one CPU architecture goes by in release tarballs, Debian, and the loader. */
export interface Platform {
  /** Official release tarball suffix, e.g. x86_64-linux-gnu. */
  releaseTriplet: string;
  /** Debian architecture, e.g. amd64. */
  debianArch: string;
  /** Multiarch library directory name, e.g. x86_64-linux-gnu. */
  multiarch: string;
  /** The dynamic loader's file name. */
  loader: string;
}

const PLATFORMS: Partial<Record<NodeJS.Architecture, Platform>> = {
  x64: { releaseTriplet: 'x86_64-linux-gnu', debianArch: 'amd64', multiarch: 'x86_64-linux-gnu', loader: 'ld-linux-x86-64.so.2' },
  arm64: { releaseTriplet: 'aarch64-linux-gnu', debianArch: 'arm64', multiarch: 'aarch64-linux-gnu', loader: 'ld-linux-aarch64.so.1' },
};

export function currentPlatform(arch: NodeJS.Architecture = process.arch, os: NodeJS.Platform = process.platform): Platform {
  const platform = os === 'linux' ? PLATFORMS[arch] : undefined;
  if (!platform) {
    throw new HarnessError('PROVISION_FAILED', `cannot provision bitcoind for ${os}/${arch}: only linux x64 and arm64 are supported`, {
      fix: 'install bitcoind yourself and pass --bitcoind PATH (or set BITCOIND)',
    });
  }
  return platform;
}
