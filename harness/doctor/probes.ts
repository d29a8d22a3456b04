/**
 * Does the bitcoind ELF carry the USDT tracepoints the tracer attaches to? Reads the ELF notes
 * (no readelf needed) and counts them against the tracepoint catalog.
 */
import { catalog, NET_TRACEPOINTS } from '../../tracing/catalog.js';
import { readProbeNotes, type ProbeNote } from '../../tracing/elf-notes.js';
import { isHarnessError } from '../errors.js';
import { missing, ok, warn, type CheckResult } from './check.js';

/** What the USDT tracer cannot do without: it traces messages. */
export const REQUIRED_NET_PROBES = ['net:inbound_message', 'net:outbound_message'] as const;

const RELEASE_OR_LOG = 'use an official Bitcoin Core release ≥ v23 (regtest-harness provision --source release) or --tracer log';
export const NO_USDT_FIX = `this binary was built without USDT (e.g. Debian's bitcoin-knots): ${RELEASE_OR_LOG}`;

export interface ProbeCensus {
  /** Catalog tracepoints ("net:inbound_message") the binary carries, in catalog order. */
  present: string[];
  catalogSize: number;
  netPresent: number;
  netSize: number;
  /** Of the present catalog tracepoints: how many have a semaphore (Core ≥ v29). */
  withSemaphore: number;
}

export function probeCensus(notes: ProbeNote[]): ProbeCensus {
  const names = new Set(notes.map((n) => `${n.provider}:${n.name}`));
  const gated = new Set(notes.filter((n) => n.semaphore !== null).map((n) => `${n.provider}:${n.name}`));
  const present = catalog.map((r) => r.name as string).filter((name) => names.has(name));
  return {
    present,
    catalogSize: catalog.length,
    netPresent: NET_TRACEPOINTS.filter((name) => names.has(name)).length,
    netSize: NET_TRACEPOINTS.length,
    withSemaphore: present.filter((name) => gated.has(name)).length,
  };
}

function semaphoreSummary(census: ProbeCensus): string {
  if (census.present.length === 0) return 'n/a';
  if (census.withSemaphore === census.present.length) return 'yes';
  return census.withSemaphore === 0 ? 'no' : `${census.withSemaphore} of ${census.present.length}`;
}

export function describeCensus(census: ProbeCensus): string {
  return `${census.present.length} of ${census.catalogSize} catalog tracepoints, net ${census.netPresent} of ${census.netSize}, semaphores ${semaphoreSummary(census)}`;
}

/** The probe check for any ELF file; the doctor points it at the bitcoind's ELF. */
export async function checkBitcoindProbes(elfPath: string): Promise<CheckResult> {
  let notes: ProbeNote[];
  try {
    notes = await readProbeNotes(elfPath);
  } catch (error) {
    if (!isHarnessError(error)) throw error;
    return missing('bitcoind.probes', `cannot read the probes of ${elfPath}: ${error.message}`, error.fix);
  }
  const census = probeCensus(notes);
  const counts = describeCensus(census);
  if (census.present.length === 0) {
    return missing('bitcoind.probes', `${elfPath} carries none of the USDT tracepoints (${counts})`, NO_USDT_FIX);
  }
  const absent = REQUIRED_NET_PROBES.filter((name) => !census.present.includes(name));
  if (absent.length > 0) {
    return missing('bitcoind.probes', `${elfPath} lacks ${absent.join(' and ')}, which the USDT tracer attaches to (${counts})`, RELEASE_OR_LOG);
  }
  if (census.netPresent < census.netSize) {
    return warn(
      'bitcoind.probes',
      `${elfPath}: ${counts}; messages are traced, connection events are not (those tracepoints arrived in Core v29)`,
      'use Bitcoin Core ≥ v29 (regtest-harness provision --source release) to trace connection events too',
    );
  }
  return ok('bitcoind.probes', `${elfPath}: ${counts}`);
}
