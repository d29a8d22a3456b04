import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { HarnessError } from '../common/errors.js';

export interface DownloadTimeouts {
  /** Until the response headers arrive: an offline machine fails within this. */
  connectMs?: number;
  /** Longest silence between body chunks before we give up. */
  stallMs?: number;
  /** Cancels the download (e.g. Ctrl-C in the CLI). */
  signal?: AbortSignal;
}

const DEFAULT_CONNECT_MS = 5_000;
const DEFAULT_STALL_MS = 30_000;

/** The stream progress goes to; it is only written when it is a TTY. */
export type ProgressStream = NodeJS.WritableStream & { isTTY?: boolean };

function describeFetchError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as (Error & { code?: string }) | undefined;
  if (error.name === 'TimeoutError' || error.name === 'AbortError') return error.message;
  return cause ? `${cause.code ?? cause.name}: ${cause.message}` : error.message;
}

function unreachable(url: string, detail: string, cause?: unknown): HarnessError {
  return new HarnessError('PROVISION_FAILED', `cannot download ${url} (${detail})`, {
    fix: 'check the network or --release-base-url / REGTEST_HARNESS_RELEASE_BASE_URL, or use --source debian, or pass --bitcoind PATH',
    cause,
  });
}

const LOOPBACK_HOSTS = new Set(['localhost', '[::1]']);
const MAX_REDIRECTS = 5;

function isLoopback(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/**
 * Downloads go over https; plain http only to a loopback host (a local mirror, the tests'
 * server), where nobody sits between us and the server. Anything else is BAD_OPTION.
 */
export function assertDownloadUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new HarnessError('BAD_OPTION', `'${url}' is not a URL`, { fix: 'pass --release-base-url as https://host/path' });
  }
  if (parsed.protocol === 'https:' || (parsed.protocol === 'http:' && isLoopback(parsed.hostname))) return parsed;
  throw new HarnessError('BAD_OPTION', `refusing to download ${url}: only https:// (or http:// to a loopback host) is allowed`, {
    fix: 'use an https:// --release-base-url / REGTEST_HARNESS_RELEASE_BASE_URL',
  });
}

/**
 * fetch, following redirects only within the first URL's origin: a redirect to another host
 * (or from https to http) would let that host pick what we download.
 */
async function fetchSameOrigin(url: string, signal: AbortSignal): Promise<Response> {
  const origin = assertDownloadUrl(url).origin;
  let current = url;
  for (let hop = 0; ; hop++) {
    const response = await fetch(current, { signal, redirect: 'manual' });
    if (response.status < 300 || response.status >= 400 || !response.headers.has('location')) return response;
    await response.body?.cancel().catch(() => undefined);
    const next = new URL(response.headers.get('location')!, current);
    if (next.origin !== origin) {
      throw new HarnessError('PROVISION_FAILED', `refusing the redirect from ${current} to another origin (${next.origin})`, {
        fix: `point --release-base-url / REGTEST_HARNESS_RELEASE_BASE_URL at the server that holds the files (${next.origin} if you trust it)`,
      });
    }
    if (hop >= MAX_REDIRECTS) throw unreachable(url, `more than ${MAX_REDIRECTS} redirects`);
    current = next.href;
  }
}

/** fetch with a headers deadline; the body is the caller's to read (the stall timer keeps running). */
async function fetchWithDeadline(url: string, timeouts: DownloadTimeouts): Promise<{ response: Response; controller: AbortController }> {
  assertDownloadUrl(url);
  const controller = new AbortController();
  timeouts.signal?.throwIfAborted();
  timeouts.signal?.addEventListener('abort', () => controller.abort(timeouts.signal?.reason), { once: true });
  const connectMs = timeouts.connectMs ?? DEFAULT_CONNECT_MS;
  const timer = setTimeout(() => controller.abort(new Error(`no response within ${connectMs} ms`)), connectMs);
  try {
    const response = await fetchSameOrigin(url, controller.signal);
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      throw unreachable(url, `HTTP ${response.status} ${response.statusText}`.trim());
    }
    return { response, controller };
  } catch (error) {
    if (error instanceof HarnessError) throw error;
    if (timeouts.signal?.aborted) throw timeouts.signal.reason; // cancelled, not a network failure
    const reason = controller.signal.aborted ? describeFetchError(controller.signal.reason) : describeFetchError(error);
    throw unreachable(url, reason, error);
  } finally {
    clearTimeout(timer);
  }
}

export async function fetchText(url: string, timeouts: DownloadTimeouts = {}): Promise<string> {
  const { response, controller } = await fetchWithDeadline(url, timeouts);
  const stallMs = timeouts.stallMs ?? DEFAULT_STALL_MS;
  const timer = setTimeout(() => controller.abort(new Error(`stalled for ${stallMs} ms`)), stallMs);
  try {
    return await response.text();
  } catch (error) {
    if (timeouts.signal?.aborted) throw timeouts.signal.reason;
    throw unreachable(url, describeFetchError(controller.signal.reason ?? error), error);
  } finally {
    clearTimeout(timer);
  }
}

function formatMB(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** A one-line, \r-rewritten progress meter; silent unless the stream is a terminal. */
function progressMeter(stream: ProgressStream | undefined, label: string, total: number | undefined) {
  const enabled = stream?.isTTY === true;
  let lastPaint = 0;
  const paint = (done: number, force = false) => {
    if (!enabled || !stream) return;
    const now = Date.now();
    if (!force && now - lastPaint < 100) return;
    lastPaint = now;
    const pct = total ? ` ${Math.floor((done / total) * 100)}%` : '';
    stream.write(`\r${label}:${pct} ${formatMB(done)}${total ? ` / ${formatMB(total)}` : ''}   `);
  };
  return {
    update: (done: number) => paint(done),
    finish: (done: number) => {
      paint(done, true);
      if (enabled && stream) stream.write('\n');
    },
  };
}

/**
 * Stream `url` into `destPath`, hashing as it goes; returns the SHA256 (hex) and the size.
 * On failure the partial file is left for the caller, who owns the scratch directory.
 */
export async function downloadToFile(
  url: string,
  destPath: string,
  options: DownloadTimeouts & { progress?: ProgressStream; label?: string } = {},
): Promise<{ sha256: string; bytes: number }> {
  const { response, controller } = await fetchWithDeadline(url, options);
  if (!response.body) throw unreachable(url, 'empty response body');
  const stallMs = options.stallMs ?? DEFAULT_STALL_MS;
  let stallTimer = setTimeout(() => controller.abort(new Error(`stalled for ${stallMs} ms`)), stallMs);
  const lengthHeader = Number(response.headers.get('content-length'));
  const meter = progressMeter(options.progress, options.label ?? url, Number.isFinite(lengthHeader) && lengthHeader > 0 ? lengthHeader : undefined);
  const hash = createHash('sha256');
  let bytes = 0;
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      clearTimeout(stallTimer);
      stallTimer = setTimeout(() => controller.abort(new Error(`stalled for ${stallMs} ms`)), stallMs);
      hash.update(chunk);
      bytes += chunk.length;
      meter.update(bytes);
      callback(null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), hashing, createWriteStream(destPath));
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    throw unreachable(url, describeFetchError(controller.signal.reason ?? error), error);
  } finally {
    clearTimeout(stallTimer);
  }
  meter.finish(bytes);
  return { sha256: hash.digest('hex'), bytes };
}
