/**
 * The running kernel's build configuration, when the system exposes it (/proc/config.gz with
 * CONFIG_IKCONFIG_PROC, else Debian's /boot/config-<release>). Used as evidence only where a live
 * test is impossible, so an absent file is normal, not an error.
 */
import { readFile } from 'node:fs/promises';
import { release } from 'node:os';
import { gunzipSync } from 'node:zlib';

export interface KernelConfig {
  /** The file it was read from. */
  source: string;
  /** 'y', 'm', a value, or 'n' for "# CONFIG_X is not set"; undefined when the option is absent. */
  get(option: string): string | undefined;
}

export function parseKernelConfig(text: string, source: string): KernelConfig {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const set = /^(CONFIG_\w+)=(.*)$/.exec(line);
    if (set?.[1] !== undefined && set[2] !== undefined) values.set(set[1], set[2]);
    const unset = /^# (CONFIG_\w+) is not set$/.exec(line);
    if (unset?.[1] !== undefined) values.set(unset[1], 'n');
  }
  return { source, get: (option) => values.get(option) };
}

export async function readKernelConfig(): Promise<KernelConfig | undefined> {
  const gz = await readFile('/proc/config.gz').catch(() => undefined);
  if (gz) {
    try {
      return parseKernelConfig(gunzipSync(gz).toString('utf8'), '/proc/config.gz');
    } catch {
      // corrupt or unreadable: fall through to /boot
    }
  }
  const boot = `/boot/config-${release()}`;
  const text = await readFile(boot, 'utf8').catch(() => undefined);
  return text === undefined ? undefined : parseKernelConfig(text, boot);
}

/** "CONFIG_UPROBES=y (/proc/config.gz)" or "" when nothing is known, for appending to a detail. */
export function describeOption(config: KernelConfig | undefined, option: string): string {
  const value = config?.get(option);
  if (!config || value === undefined) return '';
  return value === 'n' ? `${option} is not set (${config.source})` : `${option}=${value} (${config.source})`;
}
