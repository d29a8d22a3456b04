import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HarnessError } from '../common/errors.js';

/**
 * Finds the Debian mirror this machine already uses, so no host name is written into our code.
 * Reads deb822 `*.sources` files and one-line `sources.list` files.
 */

export interface AptSourceEntry {
  types: string[];
  uris: string[];
  suites: string[];
  components: string[];
  signedBy?: string;
  enabled: boolean;
  /** Where it came from, for error messages. */
  origin: string;
}

/** deb822 stanzas: `Field: value` lines, continuation lines start with whitespace, blank line separates. */
export function parseDeb822Sources(text: string, origin = 'deb822'): AptSourceEntry[] {
  const entries: AptSourceEntry[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    let current: string | undefined;
    for (const line of stanza.split('\n')) {
      if (line.startsWith('#')) continue;
      const field = /^([A-Za-z][A-Za-z0-9-]*):\s*(.*)$/.exec(line);
      if (field?.[1] !== undefined) {
        current = field[1].toLowerCase();
        fields.set(current, (field[2] ?? '').trim());
      } else if (current && /^\s/.test(line)) {
        fields.set(current, `${fields.get(current) ?? ''}\n${line.trim()}`.trim());
      }
    }
    if (!fields.has('uris')) continue;
    const words = (name: string) => (fields.get(name) ?? '').split(/\s+/).filter(Boolean);
    entries.push({
      types: words('types'),
      uris: words('uris'),
      suites: words('suites'),
      components: words('components'),
      signedBy: fields.get('signed-by'),
      enabled: (fields.get('enabled') ?? 'yes').toLowerCase() !== 'no',
      origin,
    });
  }
  return entries;
}

/** One-line format: `deb [opt=val ...] URI suite component...`. */
export function parseOneLineSources(text: string, origin = 'sources.list'): AptSourceEntry[] {
  const entries: AptSourceEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    const match = /^(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (!match?.[1] || !match[3] || !match[4]) continue;
    const signedBy = /signed-by=(\S+)/.exec(match[2] ?? '')?.[1];
    entries.push({
      types: [match[1]],
      uris: [match[3]],
      suites: [match[4]],
      components: (match[5] ?? '').split(/\s+/).filter(Boolean),
      signedBy,
      enabled: true,
      origin,
    });
  }
  return entries;
}

/** Debian's own suite names and codenames (the archive entry carries at least one of these). */
const DEBIAN_SUITE = /^(stable|testing|unstable|oldstable|oldoldstable|sid|experimental|buster|bullseye|bookworm|trixie|forky|duke)(-updates|-backports|-proposed-updates)?$/;

/**
 * The main Debian archive: a `deb` entry with a Debian suite, the `main` component, and not
 * the security archive (which has no sid). Returns its URI without a trailing slash.
 */
export function pickDebianMirror(entries: AptSourceEntry[]): string | undefined {
  for (const entry of entries) {
    if (!entry.enabled || !entry.types.includes('deb') || !entry.components.includes('main')) continue;
    if (!entry.suites.some((suite) => DEBIAN_SUITE.test(suite))) continue;
    const uri = entry.uris.find((u) => !/security/i.test(u) && /^(https?|file):/.test(u));
    if (uri) return uri.replace(/\/+$/, '');
  }
  return undefined;
}

/** Read `<aptDir>/sources.list.d/*.sources`, `*.list` and `<aptDir>/sources.list` and pick the mirror. */
export async function findDebianMirror(aptDir = '/etc/apt'): Promise<string> {
  const entries: AptSourceEntry[] = [];
  const partsDir = join(aptDir, 'sources.list.d');
  const parts = await readdir(partsDir).catch(() => [] as string[]);
  for (const name of parts.sort()) {
    const path = join(partsDir, name);
    if (name.endsWith('.sources')) entries.push(...parseDeb822Sources(await readFile(path, 'utf8'), path));
    else if (name.endsWith('.list')) entries.push(...parseOneLineSources(await readFile(path, 'utf8'), path));
  }
  const mainList = join(aptDir, 'sources.list');
  const mainText = await readFile(mainList, 'utf8').catch(() => '');
  entries.push(...parseOneLineSources(mainText, mainList));
  const mirror = pickDebianMirror(entries);
  if (!mirror) {
    throw new HarnessError('PROVISION_FAILED', `no Debian archive mirror found in ${partsDir}/*.sources, *.list or ${mainList}`, {
      fix: 'add the Debian archive to apt\'s sources (e.g. a "URIs: <mirror>/debian" entry with your release\'s suite), or use --source release, or pass --bitcoind PATH',
    });
  }
  return mirror;
}
