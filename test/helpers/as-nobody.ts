import { execa, type Options } from 'execa';

/**
 * Run a command as the unprivileged `nobody` user (setpriv drops uid, gid and groups), to play a
 * hostile local user against a root run. Only possible when the tests run as root.
 */
export function nobodySkipReason(): string | false {
  return process.getuid?.() === 0 ? false : 'needs root, to run an attacker as the user nobody';
}

export function asNobody(command: string, args: readonly string[], options: Options = {}) {
  return execa('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', '--', command, ...args], options);
}

/** `sh -c script` as nobody. */
export function shAsNobody(script: string, options: Options = {}) {
  return asNobody('sh', ['-c', script], options);
}
