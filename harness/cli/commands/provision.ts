import { resolveBitcoind } from '../../binary.js';
import { usageError } from '../../common/errors.js';
import { DEFAULT_RELEASE_BASE_URL, DEFAULT_RELEASE_VERSION } from '../../provision/release.js';
import { EXIT_OK, parseCommandArgs, writeLine, type Command } from '../command.js';

const SOURCES = ['release', 'debian'] as const;
type Source = (typeof SOURCES)[number];

const help = `regtest-harness provision — find or download a bitcoind and say which one

Usage: regtest-harness provision [--source release|debian] [--version X]
                                 [--release-base-url URL] [--bitcoind PATH]

Prints the binary's path and the first line of its -version on stdout, and one
line on stderr saying which binary was chosen and why.

Options:
  --source release|debian  Only this source (cache lookup and download):
                             release  official Bitcoin Core tarball, SHA256-checked
                                      against SHA256SUMS (has the USDT tracepoints)
                             debian   Debian sid's bitcoin-knots in a private root
                                      (works from the Debian mirror; no USDT probes)
  --version X              Official release version (default ${DEFAULT_RELEASE_VERSION})
  --release-base-url URL   Where release folders live (default ${DEFAULT_RELEASE_BASE_URL};
                           env REGTEST_HARNESS_RELEASE_BASE_URL)
  --bitcoind PATH          Use and identify this binary instead
  -h, --help               This help

Resolution order (the first that yields a bitcoind wins):
  1. --bitcoind PATH
  2. the BITCOIND environment variable
  3. bitcoind on PATH
  4. a copy provisioned earlier into the cache
  5. provision one: the official release first, then Debian's bitcoin-knots
With --source, steps 2-3 are skipped and 4-5 use only that source.

Cache: \${XDG_CACHE_HOME:-~/.cache}/regtest-harness (env REGTEST_HARNESS_CACHE).
Not done: GPG verification of SHA256SUMS (only the SHA256 of the tarball is checked).`;

function parseSource(value: string | undefined): Source | undefined {
  if (value === undefined) return undefined;
  if ((SOURCES as readonly string[]).includes(value)) return value as Source;
  throw usageError(`--source must be one of ${SOURCES.join(', ')}, got '${value}'`, 'pass --source release or --source debian');
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export const provisionCommand: Command = {
  name: 'provision',
  summary: 'find or download a bitcoind (official release or Debian) and print its path',
  help,
  async run(argv, io) {
    const { values } = parseCommandArgs('provision', argv, {
      source: { type: 'string' },
      version: { type: 'string' },
      'release-base-url': { type: 'string' },
      bitcoind: { type: 'string' },
    });
    const binary = await resolveBitcoind({
      source: parseSource(optionalString(values.source)),
      version: optionalString(values.version),
      releaseBaseUrl: optionalString(values['release-base-url']),
      bitcoind: optionalString(values.bitcoind),
      onProgress: (line) => writeLine(io.stderr, line),
      signal: io.signal,
    });
    writeLine(io.stdout, binary.path);
    writeLine(io.stdout, binary.versionLine);
    writeLine(io.stderr, binary.reason);
    return EXIT_OK;
  },
};
