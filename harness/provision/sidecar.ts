import { readFile, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';

/**
 * Our Debian wrappers are shell scripts; the probes live in the ELF they exec. Rather than parse
 * shell, the provisioner writes this JSON beside each wrapper, and identification reads it.
 */
export const SIDECAR_SUFFIX = '.regtest-harness.json';
export const WRAPPER_MARKER = '# regtest-harness wrapper';

export interface WrapperSidecar {
  writtenBy: 'regtest-harness';
  kind: 'debian-private-root';
  program: string;
  /** The ELF the wrapper runs, relative to the sidecar's directory. */
  elf: string;
  package: string;
  packageVersion: string;
  mirror: string;
}

export function sidecarPath(wrapperPath: string): string {
  return `${wrapperPath}${SIDECAR_SUFFIX}`;
}

export async function writeSidecar(wrapperPath: string, sidecar: WrapperSidecar): Promise<void> {
  await writeFile(sidecarPath(wrapperPath), `${JSON.stringify(sidecar, null, 2)}\n`);
}

/** The ELF path from a wrapper's sidecar, or undefined when there is no (valid) sidecar. */
export async function readSidecarElf(wrapperPath: string): Promise<{ elfPath: string; sidecar: WrapperSidecar } | undefined> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(sidecarPath(wrapperPath), 'utf8'));
  } catch {
    return undefined;
  }
  const candidate = parsed as Partial<WrapperSidecar> | null;
  if (!candidate || candidate.writtenBy !== 'regtest-harness' || typeof candidate.elf !== 'string') return undefined;
  const elfPath = isAbsolute(candidate.elf) ? candidate.elf : resolve(dirname(wrapperPath), candidate.elf);
  return { elfPath, sidecar: candidate as WrapperSidecar };
}
