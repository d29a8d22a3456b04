/**
 * The tracer daemon against other local users (issue 10): its socket lives in a private
 * directory and is 0600, so nobody cannot connect; it removes only a stale socket of its own;
 * it does not say why a file cannot be traced; an endless line is cut off with an error.
 * No bpftrace is needed: every case is refused before one would start.
 */
import { chmodSync, lstatSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { startTracerServer, type TracerServer } from '../tracing/bpftrace/daemon/server.js';
import { MAX_CLIENT_LINE_BYTES } from '../tracing/bpftrace/daemon/protocol.js';
import { nobodySkipReason, shAsNobody } from './helpers/as-nobody.js';

const scratch: string[] = [];
const servers: TracerServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(mode = 0o700): string {
  const dir = mkdtempSync(join(tmpdir(), 'daemon-sec-'));
  chmodSync(dir, mode);
  scratch.push(dir);
  return dir;
}
async function start(socketPath: string): Promise<TracerServer> {
  const server = await startTracerServer({ socketPath, keepAliveMs: 0 });
  servers.push(server);
  return server;
}

/** Send raw bytes, collect every reply line until the daemon closes the connection. */
function exchange(socketPath: string, payload: string | Buffer): Promise<Array<Record<string, unknown>>> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    // Cut off mid-write is the expected end of an endless line.
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' || error.code === 'ECONNRESET' ? undefined : reject(error)));
    socket.on('close', () => resolve(text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>)));
    socket.write(payload);
    if (typeof payload === 'string') setTimeout(() => socket.end(), 300); // let the replies arrive first
  });
}

describe('the tracer daemon socket', () => {
  test.skipIf(nobodySkipReason())('lives in a 0700 directory with mode 0600, even under umask 000, and nobody is refused', async () => {
    const base = tempDir(0o755);
    const socketPath = join(base, 'private', 'daemon.sock');
    const umask = process.umask(0); // the worst case a hand-started daemon could inherit
    try {
      await start(socketPath);
    } finally {
      process.umask(umask);
    }
    expect(lstatSync(join(base, 'private')).mode & 0o777).toBe(0o700);
    expect(lstatSync(socketPath).mode & 0o777).toBe(0o600);
    const attempt = await shAsNobody(
      `exec node -e 'const s = require("net").createConnection(process.argv[1]); s.on("connect", () => { console.log("connected"); process.exit(0); }); s.on("error", (e) => { console.log(e.code); process.exit(0); });' '${socketPath}'`,
    );
    expect(String(attempt.stdout).trim()).toBe("EACCES");
    // The owner still gets in.
    const replies = await exchange(socketPath, `${JSON.stringify({ op: 'status', id: 1 })}\n`);
    expect(replies.map((r) => r.op)).toEqual(['hello', 'status']);
  });

  test.skipIf(nobodySkipReason())('refuses a directory another user owns, or one open to others', async () => {
    const base = tempDir(0o1777);
    await shAsNobody(`mkdir -m 700 '${base}/theirs'`);
    await expect(start(join(base, 'theirs', 'd.sock'))).rejects.toThrow(/owned by uid 65534/);
    const open = tempDir(0o755);
    await expect(start(join(open, 'd.sock'))).rejects.toThrow(/open to other users/);
  });

  test('--socket never deletes a file that is not a socket of its own', async () => {
    const dir = tempDir();
    const regular = join(dir, 'precious');
    writeFileSync(regular, 'precious\n');
    await expect(start(regular)).rejects.toThrow(/is not a socket of yours/);
    expect(readFileSync(regular, 'utf8')).toBe('precious\n');
    const link = join(dir, 'link.sock');
    symlinkSync(regular, link);
    await expect(start(link)).rejects.toThrow(/is not a socket of yours/);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
  });

  test("a stale socket of its own is replaced; a live daemon's is not", async () => {
    const dir = tempDir();
    const socketPath = join(dir, 'd.sock');
    const first = await start(socketPath);
    await expect(startTracerServer({ socketPath })).rejects.toThrow(/already serves/);
    await first.stop();
    expect(() => lstatSync(socketPath)).toThrow(); // removed on stop
  });

  test('does not tell a client whether a file exists', async () => {
    const dir = tempDir();
    const socketPath = join(dir, 'd.sock');
    await start(socketPath);
    const ask = async (elfPath: string) => {
      const replies = await exchange(socketPath, `${JSON.stringify({ op: 'acquire', id: 7, request: { elfPath, tracepoints: ['net:inbound_message'] } })}\n`);
      const error = replies.find((r) => r.op === 'error')?.error as { code: string; message: string; fix: string };
      return { ...error, message: error.message.replace(JSON.stringify(elfPath), '<path>') };
    };
    const present = await ask('/etc/passwd'); // exists, not ELF
    const missing = await ask(join(dir, 'no-such-file'));
    const shadow = await ask('/etc/shadow'); // exists, unreadable to others
    expect(present.message).toBe('the tracer daemon cannot trace <path>');
    expect(missing).toEqual(present);
    expect(shadow).toEqual(present);
  });

  test('a client sending an endless line is cut off with an error', async () => {
    const dir = tempDir();
    const socketPath = join(dir, 'd.sock');
    const server = await start(socketPath);
    const replies = await exchange(socketPath, Buffer.alloc(MAX_CLIENT_LINE_BYTES * 4, 'x'));
    expect(replies.at(-1)).toMatchObject({ op: 'error', error: { message: expect.stringMatching(/longer than 65536 bytes/) } });
    for (let tick = 0; tick < 100 && server.status().clients > 0; tick++) await new Promise((r) => setImmediate(r));
    expect(server.status().clients).toBe(0);
  });
});
