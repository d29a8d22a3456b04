/**
 * The doctor's sudo-mode decision (issue 10): it must try what real runs execute — `sudo -n true`,
 * `sudo -n env K=V… bpftrace …`, `sudo -n kill` — not `sudo -n bpftrace`. This machine has no
 * sudo and no sudoers to configure, so the DECISION LOGIC is tested against a stand-in: a script
 * named `sudo` in a temp dir of ours, first on PATH, that runs (unprivileged) only the commands a
 * "sudoers" list allows and answers like sudo otherwise. It proves which commands the doctor
 * tries and how it decides; it says nothing about real sudo.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { checkSudoMode } from '../harness/doctor/sudo.js';

const scratch: string[] = [];
afterEach(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The fake sudo for decision-logic tests only: `allowed` plays the sudoers NOPASSWD commands. */
function fakeSudoForDecisionLogic(allowed: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'fake-sudo-for-decision-logic-'));
  scratch.push(dir);
  const log = join(dir, 'calls.log');
  writeFileSync(
    join(dir, 'sudo'),
    [
      '#!/bin/sh',
      '# FAKE sudo for testing the doctor decision logic only; grants nothing.',
      `printf '%s\\n' "$*" >> '${log}'`,
      '[ "$1" = "-n" ] || { echo "fake sudo: only -n is expected" >&2; exit 1; }',
      'shift',
      'case " $ALLOWED " in *" $1 "*) exec "$@" ;; esac',
      'echo "sudo: a password is required" >&2',
      'exit 1',
      '',
    ].join('\n'),
  );
  chmodSync(join(dir, 'sudo'), 0o755);
  const bpftrace = join(dir, 'bpftrace');
  writeFileSync(bpftrace, '#!/bin/sh\necho "bpftrace v0.23.0"\n');
  chmodSync(bpftrace, 0o755);
  const env = { PATH: `${dir}:/usr/bin:/bin`, ALLOWED: allowed.join(' ') };
  return { env, bpftrace, calls: () => readFileSync(log, 'utf8').trim().split('\n') };
}

describe('doctor: sudo mode is checked with the commands real runs use', () => {
  test('a sudoers rule for true and bpftrace only (what the old check accepted) is missing, naming `sudo -n env`', async () => {
    const sudo = fakeSudoForDecisionLogic(['true', 'bpftrace']);
    const result = await checkSudoMode(sudo.bpftrace, sudo.env);
    expect(result).toMatchObject({ status: 'missing', detail: expect.stringContaining('`sudo -n env BPFTRACE_') });
    expect(result.detail).toContain('sudo: a password is required');
    expect(result.fix).toContain('NOPASSWD: /usr/bin/true, /usr/bin/env, /usr/bin/kill');
  });

  test('without kill it is missing too: bpftrace could start but never be stopped', async () => {
    const sudo = fakeSudoForDecisionLogic(['true', 'env']);
    const result = await checkSudoMode(sudo.bpftrace, sudo.env);
    expect(result).toMatchObject({ status: 'missing', detail: expect.stringContaining('`sudo -n kill -0 --') });
  });

  test('true, env and kill allowed: ok, after trying exactly the three command shapes', async () => {
    const sudo = fakeSudoForDecisionLogic(['true', 'env', 'kill']);
    const result = await checkSudoMode(sudo.bpftrace, sudo.env);
    expect(result.status).toBe('ok');
    expect(sudo.calls()).toEqual([
      '-n true',
      `-n env BPFTRACE_STRLEN=64 BPFTRACE_MAP_KEYS_MAX=65536 BPFTRACE_PERF_RB_PAGES=64 ${sudo.bpftrace} --version`,
      `-n kill -0 -- ${process.pid}`,
    ]);
  });

  test('no password prompt is ever waited for: sudo is always run with -n', async () => {
    const sudo = fakeSudoForDecisionLogic([]);
    const result = await checkSudoMode(sudo.bpftrace, sudo.env);
    expect(result.status).toBe('missing');
    expect(sudo.calls()).toEqual(['-n true']); // stops at the first refusal
  });
});
