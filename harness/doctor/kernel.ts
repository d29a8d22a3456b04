/**
 * Static kernel facts the USDT path needs: a new enough release, the uprobe PMU, BTF. Each is a
 * file that exists or not; the live BPF test is in bpf.ts.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { release } from 'node:os';
import { missing, ok, warn, type CheckResult } from './check.js';
import { describeOption, type KernelConfig } from './kernel-config.js';

const UPROBE_PMU = '/sys/bus/event_source/devices/uprobe';
const VMLINUX_BTF = '/sys/kernel/btf/vmlinux';
/** Uprobe reference counters (ref_ctr_offset): what activates Core v29's semaphores when attaching by path. */
const REF_CTR_KERNEL: readonly [number, number] = [4, 20];

export function parseKernelRelease(text: string): { major: number; minor: number } | undefined {
  const match = /^(\d+)\.(\d+)/.exec(text);
  return match ? { major: Number(match[1]), minor: Number(match[2]) } : undefined;
}

export function checkKernelVersion(kernelRelease = release()): CheckResult {
  const parsed = parseKernelRelease(kernelRelease);
  if (!parsed) return warn('kernel.version', `cannot parse the kernel release '${kernelRelease}'`, `make sure the kernel is Linux ≥ ${REF_CTR_KERNEL.join('.')}`);
  const [major, minor] = REF_CTR_KERNEL;
  if (parsed.major > major || (parsed.major === major && parsed.minor >= minor)) {
    return ok('kernel.version', `Linux ${kernelRelease} (≥ ${major}.${minor}: uprobe reference counters activate semaphore-gated probes)`);
  }
  return warn(
    'kernel.version',
    `Linux ${kernelRelease} is older than ${major}.${minor}: no uprobe reference counters, so Core ≥ v29's semaphore-gated probes stay silent`,
    `use a Linux ≥ ${major}.${minor} kernel, a Core release ≤ v28 (no semaphores), or --tracer log`,
  );
}

export async function checkUprobes(config?: KernelConfig): Promise<CheckResult> {
  if (existsSync(UPROBE_PMU)) {
    const type = (await readFile(`${UPROBE_PMU}/type`, 'utf8').catch(() => '')).trim();
    return ok('kernel.uprobes', `${UPROBE_PMU} present${type ? ` (perf event type ${type})` : ''}`);
  }
  const evidence = [describeOption(config, 'CONFIG_UPROBES'), describeOption(config, 'CONFIG_UPROBE_EVENTS')].filter(Boolean).join(', ');
  return missing(
    'kernel.uprobes',
    `${UPROBE_PMU} does not exist: the kernel offers no uprobes, which USDT probes are attached through${evidence ? ` (${evidence})` : ''}`,
    'use a kernel built with CONFIG_UPROBES=y and CONFIG_UPROBE_EVENTS=y (every Debian/Ubuntu kernel is), or --tracer log',
  );
}

export function checkBtf(config?: KernelConfig): CheckResult {
  if (existsSync(VMLINUX_BTF)) return ok('kernel.btf', `${VMLINUX_BTF} present`);
  const evidence = describeOption(config, 'CONFIG_DEBUG_INFO_BTF');
  return warn(
    'kernel.btf',
    `${VMLINUX_BTF} does not exist${evidence ? ` (${evidence})` : ''}; USDT tracing does not need it (bpftrace uses BTF only for kernel struct types)`,
    'optional: use a kernel built with CONFIG_DEBUG_INFO_BTF=y',
  );
}
