/**
 * Does the bitcoind ELF carry the USDT tracepoints the tracer attaches to? Reads the ELF notes
 * (no readelf needed) and counts them against the tracepoint catalog.
 */
import { catalog, NET_TRACEPOINTS } from '../../tracing/catalog.js';
import { readProbeNotes, type ProbeNote } from '../../tracing/elf-notes.js';
import { damagedProbeSites, describeDamagedSite } from '../../tracing/probe-sites.js';
import { isHarnessError } from '../common/errors.js';
import { missing, ok, warn, type CheckResult } from './check.js';
import { elfBehindScript, isScript } from './wrapper-script.js';

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

/** The census of one ELF file, or the check result explaining why its notes cannot be read. */
async function censusOf(elfPath: string): Promise<ProbeCensus | CheckResult> {
  try {
    const notes = await readProbeNotes(elfPath);
    return probeCensus(notes);
  } catch (error) {
    if (!isHarnessError(error)) throw error;
    return missing('bitcoind.probes', `cannot read the probes of ${elfPath}: ${error.message}`, error.fix);
  }
}

const isCheck = (value: ProbeCensus | CheckResult): value is CheckResult => 'status' in value;

/** The probe check for any ELF file; the doctor points it at the bitcoind's ELF. */
export async function checkBitcoindProbes(elfPath: string): Promise<CheckResult> {
  if (await isScript(elfPath)) return checkScriptProbes(elfPath);
  const census = await censusOf(elfPath);
  if (isCheck(census)) return census;
  const counts = describeCensus(census);
  if (census.present.length === 0) {
    return missing('bitcoind.probes', `${elfPath} carries none of the USDT tracepoints (${counts})`, NO_USDT_FIX);
  }
  const absent = REQUIRED_NET_PROBES.filter((name) => !census.present.includes(name));
  if (absent.length > 0) {
    return missing('bitcoind.probes', `${elfPath} lacks ${absent.join(' and ')}, which the USDT tracer attaches to (${counts})`, RELEASE_OR_LOG);
  }
  const damaged = await damagedProbeSites(elfPath, (await readProbeNotes(elfPath)).filter((n) => census.present.includes(`${n.provider}:${n.name}`)));
  if (damaged.length > 0) {
    const sites = damaged.map(describeDamagedSite).join('; ');
    const fix = 'use an unaltered bitcoind: compare its sha256 with where it came from, or rebuild it (the kernel refuses a uprobe on such a site, so that tracepoint never fires)';
    const required = damaged.some((d) => (REQUIRED_NET_PROBES as readonly string[]).includes(d.probe));
    return (required ? missing : warn)('bitcoind.probes', `${elfPath} was altered: ${sites}`, fix);
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

/**
 * A foreign wrapper script (ours are resolved to their ELF by binary.ts): the tracer cannot see
 * through it, so this is missing either way; the ELF it runs decides which fix is right.
 */
async function checkScriptProbes(script: string): Promise<CheckResult> {
  const unseen = `${script} is a wrapper script, so the USDT tracer cannot find its probes`;
  const elf = await elfBehindScript(script);
  if (!elf) return missing('bitcoind.probes', `${unseen} (it names no bitcoind ELF)`, 'point --bitcoind at the bitcoind ELF itself, or use --tracer log');
  const census = await censusOf(elf);
  if (isCheck(census)) return census;
  const counts = describeCensus(census);
  if (census.present.length === 0) {
    return missing('bitcoind.probes', `${unseen}; the ELF it runs, ${elf}, carries none of the USDT tracepoints (${counts})`, NO_USDT_FIX);
  }
  return missing(
    'bitcoind.probes',
    `${unseen}; the ELF it runs, ${elf}, has ${counts}`,
    `point --bitcoind at ${elf} if it runs on its own, or use --tracer log`,
  );
}
