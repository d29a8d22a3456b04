import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { currentPlatform } from '../../harness/provision/platform.js';

/**
 * A local stand-in for bitcoincore.org/bin: one release folder with a tarball laid out like an
 * official one (bitcoin-<v>/bin/bitcoind) and its SHA256SUMS.
 */
export interface FakeReleaseServer {
  baseUrl: string;
  tarballName: string;
  sha256: string;
  /** Paths requested, in order. */
  requests: string[];
  close(): Promise<void>;
}

export interface FakeReleaseOptions {
  version: string;
  /** The bitcoind inside the tarball (a shell script). */
  bitcoindScript: string;
  /** Publish this hash in SHA256SUMS instead of the real one. */
  advertisedSha256?: string;
  /** Serve SHA256SUMS.asc made by this signer from the SHA256SUMS text (before any tampering). */
  sign?: (sums: string) => Promise<string>;
  /** Serve this SHA256SUMS instead (after signing: a tampered file under a good signature). */
  tamperSums?: (sums: string) => string;
  /** Answer every request with a 302 to the same path on this origin. */
  redirectTo?: string;
}

export async function startFakeReleaseServer(options: FakeReleaseOptions): Promise<FakeReleaseServer> {
  const work = await mkdtemp(join(tmpdir(), 'rh-fake-release-'));
  try {
    const bin = join(work, `bitcoin-${options.version}`, 'bin');
    await mkdir(bin, { recursive: true });
    await writeFile(join(bin, 'bitcoind'), options.bitcoindScript);
    await chmod(join(bin, 'bitcoind'), 0o755);
    const tarballName = `bitcoin-${options.version}-${currentPlatform().releaseTriplet}.tar.gz`;
    await execa('tar', ['-czf', join(work, tarballName), '-C', work, `bitcoin-${options.version}`]);
    const tarball = await readFile(join(work, tarballName));
    const sha256 = createHash('sha256').update(tarball).digest('hex');
    const sums = [
      `${'0'.repeat(64)}  bitcoin-${options.version}-riscv64-linux-gnu.tar.gz`,
      `${options.advertisedSha256 ?? sha256}  ${tarballName}`,
      '',
    ].join('\n');
    const asc = options.sign ? await options.sign(sums) : undefined;
    const served = options.tamperSums ? options.tamperSums(sums) : sums;
    const folder = `/bitcoin-core-${options.version}`;
    const requests: string[] = [];
    const server: Server = createServer((req, res) => {
      requests.push(req.url ?? '');
      if (options.redirectTo) {
        res.writeHead(302, { location: `${options.redirectTo}${req.url ?? '/'}` }).end();
      } else if (req.url === `${folder}/SHA256SUMS`) {
        res.writeHead(200, { 'content-type': 'text/plain' }).end(served);
      } else if (req.url === `${folder}/SHA256SUMS.asc` && asc !== undefined) {
        res.writeHead(200, { 'content-type': 'text/plain' }).end(asc);
      } else if (req.url === `${folder}/${tarballName}`) {
        res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': tarball.length }).end(tarball);
      } else {
        res.writeHead(404).end('not found');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return {
      baseUrl: `http://127.0.0.1:${port}`,
      tarballName,
      sha256,
      requests,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** A base URL on 127.0.0.1 where nothing listens (the port was just released). */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
