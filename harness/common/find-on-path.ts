import { existsSync } from 'node:fs';

/** Where `command` is: the first match on $PATH, then the usual system directories (root's sbin too). */
export function findOnPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    if (dir && existsSync(`${dir}/${command}`)) return `${dir}/${command}`;
  }
  for (const dir of ['/usr/sbin', '/usr/bin', '/sbin', '/bin']) if (existsSync(`${dir}/${command}`)) return `${dir}/${command}`;
  return undefined;
}
