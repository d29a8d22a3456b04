/**
 * Which bitcoind the harness would use — resolved exactly as the other commands do, but never
 * provisioned: the doctor only looks.
 */
import { resolveBitcoind, type BitcoindBinary } from '../binary.js';
import { isHarnessError } from '../common/errors.js';
import { missing, ok, type CheckResult } from './check.js';

export interface BitcoindCheck {
  result: CheckResult;
  binary?: BitcoindBinary;
}

export async function checkBitcoind(bitcoind: string | undefined, env: NodeJS.ProcessEnv): Promise<BitcoindCheck> {
  try {
    const binary = await resolveBitcoind({ bitcoind, env, provision: false });
    const elf = binary.elfPath === binary.path ? '' : ` (ELF: ${binary.elfPath})`;
    return { result: ok('bitcoind.binary', `${binary.versionLine} at ${binary.path}${elf}; ${binary.reason}`), binary };
  } catch (error) {
    if (!isHarnessError(error)) throw error;
    return { result: missing('bitcoind.binary', error.message, error.fix) };
  }
}
