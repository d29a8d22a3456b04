#!/usr/bin/env node
// Idempotent set-up behind `npm start` and `npm test`: npm packages, the build, Debian packages
// (as root; otherwise the exact command to run), and a regtest bitcoind. Fast when already done.
// Plain JavaScript with no dependencies: it runs before `npm ci` has installed anything.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const forTests = process.argv.includes('--tests');
const say = (line) => process.stderr.write(`[setup] ${line}\n`);

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], ...options });
  if (result.status !== 0) {
    say(`'${command} ${args.join(' ')}' failed (exit ${result.status ?? result.signal})`);
    process.exit(2);
  }
}

function newestMtime(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

// 1. npm packages: `npm ci` when node_modules is missing or older than the lock file.
const installedLock = join(root, 'node_modules', '.package-lock.json');
if (!existsSync(installedLock) || statSync(installedLock).mtimeMs < statSync(join(root, 'package-lock.json')).mtimeMs) {
  say('installing npm packages (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

// 2. The build (dist/: tsc's output and the CLI bundle), when any source is newer than the last
//    build or a part of it is missing (a dist/ from before the bundle existed).
const inputs = ['harness', 'tracing', 'scenarios', 'bench', 'tsconfig.json', 'tsconfig.build.json', 'scripts/bundle-cli.mjs', 'package-lock.json'];
const sources = Math.max(...inputs.map((p) => newestMtime(join(root, p))));
const stamp = join(root, 'dist', '.build-stamp');
const bundle = join(root, 'dist', 'bin', 'regtest-harness.js');
if (!existsSync(stamp) || !existsSync(bundle) || statSync(stamp).mtimeMs < sources) {
  say('building (tsc, then the CLI bundle)');
  run('npm', ['run', '--silent', 'build']);
}

// 3. Debian packages: bpftrace for the USDT tracer; for the tests also <sys/sdt.h> and cc (the
//    USDT emitter), readelf (checking our ELF reader), and Chromium (rendering the HTML report).
// The shared Core builds (../shared/bitcoin-core/) link libevent's pthreads and extra parts.
const packages = ['bpftrace', ...(forTests ? ['systemtap-sdt-dev', 'gcc', 'libc6-dev', 'binutils', 'chromium', 'libevent-pthreads-2.1-7', 'libevent-extra-2.1-7'] : [])];
const hasApt = existsSync('/usr/bin/apt-get') && existsSync('/usr/bin/dpkg-query');
if (hasApt) {
  const missing = packages.filter((pkg) => {
    const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
    return !r.stdout?.includes('install ok installed');
  });
  if (missing.length > 0) {
    if (process.getuid?.() === 0) {
      say(`installing Debian packages: ${missing.join(' ')}`);
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      run('apt-get', ['update', '-qq'], { env });
      run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
    } else {
      say(`missing Debian packages: ${missing.join(' ')} — install them with: sudo apt-get install -y ${missing.join(' ')}`);
      say('(tests that need them are skipped with a one-line reason until then)');
    }
  }
} else {
  say(`not a Debian system: install ${packages.join(', ')} with your package manager for the USDT tracer and its tests`);
}

// 4. Debian 13's bpftrace (0.23) in a private root of the per-user cache, when the system's is
//    older than 0.20: one probe body per tracepoint (fewer uprobes, faster attach and detach) and
//    whole payloads. Same machinery as Knots (harness/provision/debian.ts); the tracer uses it when
//    present (tracing/bpftrace/locate.ts). Skipped quickly once done.
if (hasApt) {
  const script = `
    const { locateBpftrace, privateBpftracePath, supportsOneBody } = await import(${JSON.stringify(join(root, 'dist', 'tracing', 'bpftrace', 'locate.js'))});
    const { provisionPrivateBpftrace } = await import(${JSON.stringify(join(root, 'dist', 'harness', 'provision', 'bpftrace-root.js'))});
    const { defaultCacheDir } = await import(${JSON.stringify(join(root, 'dist', 'harness', 'common', 'cache-dir.js'))});
    const located = locateBpftrace();
    if (!privateBpftracePath() && !(located && supportsOneBody(located.version))) {
      const install = await provisionPrivateBpftrace({ cacheDir: defaultCacheDir(), onProgress: (line) => process.stderr.write('[setup] ' + line + '\\n') });
      process.stderr.write('[setup] bpftrace: ' + install.programPath + ' (' + install.packageVersion + ')\\n');
    } else if (located) {
      process.stderr.write('[setup] bpftrace: ' + located.reason + '\\n');
    }`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  // Not fatal: the system's bpftrace still works, with payloads cut at 200 bytes.
  if (result.status !== 0) say("could not provide Debian 13's bpftrace in a private root (see above); the system's bpftrace is used");
}

// 5. A regtest bitcoind: $BITCOIND, bitcoind on PATH, the cache, else provision one.
const cli = join(root, 'dist', 'bin', 'regtest-harness.js');
try {
  const found = execFileSync(process.execPath, [cli, 'provision'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  say(`bitcoind: ${found.trim().split('\n')[0]}`);
} catch {
  say('could not get a bitcoind (see above); set BITCOIND=/path/to/bitcoind');
  process.exit(2);
}
