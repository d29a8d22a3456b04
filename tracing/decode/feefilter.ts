/** `feefilter` (BIP 133): "don't announce transactions paying less than this to me". */
import { PayloadReader, readUntilStop, type DecodeStop } from './reader.js';

export interface FeeFilterPayload {
  type: 'feefilter';
  /** Minimum fee rate in satoshis per 1000 virtual bytes. */
  satPerKvB?: bigint;
  stop?: DecodeStop;
}

export function decodeFeeFilter(reader: PayloadReader): FeeFilterPayload {
  return readUntilStop<FeeFilterPayload>({ type: 'feefilter' }, (p) => {
    p.satPerKvB = reader.i64le('fee rate');
  });
}

/** 9170997 sat/kvB → "0.09170997 BTC/kvB", exactly (no float rounding). */
export function formatBtcPerKvB(satPerKvB: bigint): string {
  const negative = satPerKvB < 0n;
  const abs = negative ? -satPerKvB : satPerKvB;
  const whole = abs / 100_000_000n;
  const fraction = (abs % 100_000_000n).toString().padStart(8, '0');
  return `${negative ? '-' : ''}${whole}.${fraction} BTC/kvB`;
}
