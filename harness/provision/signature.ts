import { isAbsolute, resolve } from 'node:path';
import { HarnessError } from '../common/errors.js';
import { budget, makeTiming } from '../common/timing.js';

/**
 * SHA256SUMS comes from the same server as the tarball, so its hashes alone only prove the
 * download was not truncated. Bitcoin Core's builders sign it (SHA256SUMS.asc, one detached
 * signature per builder); checking those needs gpg and the builders' public keys, which the
 * harness cannot fetch (no keyserver is reachable from a sandbox, and fetching keys from the same
 * place as the files would prove nothing). So: with `gpgv` and a keyring of builder keys named
 * by REGTEST_HARNESS_RELEASE_KEYRING, at least one good signature from that keyring is required
 * and any bad one fails; otherwise the install is checksum-only, and says so.
 */
export const RELEASE_KEYRING_ENV = 'REGTEST_HARNESS_RELEASE_KEYRING';

export type SumsVerification =
  | { kind: 'signed'; goodSignatures: string[] }
  | { kind: 'checksum-only'; why: string };

export const CHECKSUM_ONLY_RISK =
  'SHA256 verified, but checksum-only: SHA256SUMS came from the same server as the tarball and its signatures were not checked, so a compromised or impersonated mirror could serve a matching pair';

/** The full account (progress output); `short` for the one-line reason a binary was chosen. */
export function describeVerification(v: SumsVerification, short = false): string {
  if (v.kind === 'signed') return `SHA256 verified; SHA256SUMS signed by ${v.goodSignatures.length} builder key(s)${short ? '' : `: ${v.goodSignatures.join(', ')}`}`;
  return short ? `SHA256 verified, checksum-only: signatures not checked (${RELEASE_KEYRING_ENV} unset)` : `${CHECKSUM_ONLY_RISK} (${v.why})`;
}

/** The keyring to check against, or why there is none. */
export async function signatureCheckPlan(env: NodeJS.ProcessEnv): Promise<{ keyring: string } | { why: string }> {
  const keyring = env[RELEASE_KEYRING_ENV];
  if (!keyring) return { why: `no builder keys: set ${RELEASE_KEYRING_ENV} to a keyring of Bitcoin Core builder keys (e.g. exported from guix.sigs/builder-keys)` };
  const { execa } = await import('execa'); // loaded only when this runs (CLI start-up stays light)
  const gpgv = await execa('gpgv', ['--version'], { reject: false, timeout: budget(makeTiming(), 'probeProcess') }).catch(() => undefined);
  if (!gpgv || gpgv.exitCode !== 0) {
    throw new HarnessError('PROVISION_FAILED', `${RELEASE_KEYRING_ENV} is set but gpgv is not installed, so SHA256SUMS.asc cannot be checked`, {
      fix: `install gpgv (apt-get install gpgv), or unset ${RELEASE_KEYRING_ENV} to accept a checksum-only install`,
    });
  }
  return { keyring: isAbsolute(keyring) ? keyring : resolve(keyring) };
}

/**
 * Check `ascPath` (detached signatures) over `sumsPath` with gpgv against `keyring`. Signatures
 * by keys not in the keyring are ignored (builders come and go); a bad signature, or no good one,
 * is an error.
 */
export async function verifySums(sumsPath: string, ascPath: string, keyring: string, sumsUrl: string): Promise<SumsVerification> {
  const { execa } = await import('execa'); // loaded only when this runs (CLI start-up stays light)
  const result = await execa('gpgv', ['--keyring', keyring, '--status-fd', '1', ascPath, sumsPath], {
    reject: false,
    timeout: budget(makeTiming(), 'probeProcess'),
    env: { LC_ALL: 'C' },
  });
  const status = String(result.stdout).split('\n');
  const good = status.flatMap((l) => /^\[GNUPG:\] GOODSIG \S+ (.*)$/.exec(l)?.[1] ?? []);
  const badSigs = status.filter((l) => l.startsWith('[GNUPG:] BADSIG'));
  if (badSigs.length > 0 || good.length === 0) {
    throw new HarnessError('CHECKSUM_MISMATCH', `${sumsUrl} failed its signature check: ${badSigs.length > 0 ? `${badSigs.length} bad signature(s)` : `no good signature from a key in ${keyring}`}`, {
      fix: `do not use this mirror; check that ${RELEASE_KEYRING_ENV} holds current Bitcoin Core builder keys`,
      evidence: String(result.stderr).trim(),
    });
  }
  return { kind: 'signed', goodSignatures: good };
}
