import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { direction, isMessageEvent, type TraceEvent } from '../tracing/events.js';
import { renderReport, type ReportInput } from '../tracing/report/html.js';
import { KIND_STYLES } from '../tracing/report/message-kinds.js';
import { chromiumSkipReason, withPage } from './helpers/chromium.js';
import { loadFixtureTrace } from './helpers/fixture-trace.js';

const trace = loadFixtureTrace();
const sendCount = trace.filter((e) => isMessageEvent(e) && direction(e) === 'out').length;
const fixtureReport: ReportInput = {
  title: 'Two v29 nodes shake hands',
  events: trace,
  nodes: [
    { index: 0, name: 'node0', version: 'v29.0.0rc3', binary: '/opt/bitcoin-29.0/bin/bitcoind' },
    { index: 1, name: 'node1', version: 'v29.0.0rc3', binary: '/opt/bitcoin-29.0/bin/bitcoind' },
  ],
  scenario: 'handshake: node1 addnode node0 onetry, mine 101, send 1 BTC',
  outcome: { passed: true, details: 'all 7 expectations met' },
};

let workDir: string;
beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'regtest-harness-report-'));
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

async function writeReport(name: string, input: ReportInput): Promise<string> {
  const path = join(workDir, name);
  await writeFile(path, renderReport(input));
  return pathToFileURL(path).href;
}

/** Opens the page and records what a self-contained page must not do. */
async function openWatched(page: Page, url: string) {
  const requests: string[] = [];
  const consoleErrors: string[] = [];
  const dialogs: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await page.goto(url, { waitUntil: 'load' });
  return { requests, consoleErrors, dialogs };
}

describe('report HTML without a browser', () => {
  it('caps arrows on huge traces and says so', () => {
    const html = renderReport({ ...fixtureReport, maxArrows: 20 });
    expect(html.match(/class="arrow"/g)).toHaveLength(20);
    expect(html).toContain('data-sends-rendered="20"');
    expect(html).toContain(`${sendCount - 20} later messages are not drawn`);
  });

  it('names a node the metadata forgot and draws peers outside the harness on their own lane', () => {
    const outsider: TraceEvent = {
      tracepoint: 'net:outbound_message',
      t: 9,
      node: 2,
      peer_node: null,
      source: 'log',
      args: { peer_id: 4, peer_addr: '203.0.113.7:8333', peer_conn_type: 'outbound-full-relay', msg_type: 'version', msg_size: 102 },
    };
    const html = renderReport({ title: 't', events: [outsider], nodes: [] });
    expect(html).toContain('>node2</text>');
    expect(html).toContain('outside the harness');
    expect(html).toContain('receive not traced');
    expect(html).toContain('payload not captured');
  });
});

const skip = chromiumSkipReason();
describe.skipIf(skip !== undefined)(`report in headless Chromium${skip ? ` — skipped: ${skip}` : ''}`, () => {
  it('renders the real trace offline, one arrow per send, lanes labelled, arrows visible in pixels', async () => {
    const url = await writeReport('fixture.html', fixtureReport);
    await withPage(async (page, context) => {
      const watched = await openWatched(page, url);
      expect(watched.consoleErrors).toEqual([]);
      expect(watched.requests).toEqual([url]);

      // One arrow per traced send, all drawn (the fixture is under the cap).
      expect(await page.locator('.arrow').count()).toBe(sendCount);
      expect(await page.locator('main').getAttribute('data-sends-rendered')).toBe(String(sendCount));

      const handshake = page.locator('#handshake-diagram');
      expect(await handshake.locator('.lane-name').allTextContents()).toEqual(['node0', 'node1']);
      // Lane roles come from the conn types in the trace: node1 dialled, node0 accepted.
      expect(await handshake.locator('.lane-sub').allTextContents()).toEqual([
        'v29.0.0rc3',
        'accepted node1',
        'v29.0.0rc3',
        'dialled node0 (manual)',
      ]);
      const types = await handshake.locator('.msg').evaluateAll((gs) => gs.map((g) => g.getAttribute('data-msg-type')));
      expect(types.slice(0, 2)).toEqual(['version', 'version']);
      expect(types).toContain('getaddr');
      expect(types).not.toContain('cmpctblock');
      expect(await page.locator('#rest-diagram .msg[data-msg-type="cmpctblock"]').count()).toBe(97);
      // The first arrow is paired with node0's inbound version at +0.705 ms.
      expect(await handshake.locator('.t-recv').first().textContent()).toBe('recv +0.705 ms');
      // node1 dialled: its lane (right) → node0's lane (left) for the first version.
      const first = await handshake.locator('.arrow').first().evaluate((l) => ({
        x1: Number(l.getAttribute('x1')),
        x2: Number(l.getAttribute('x2')),
      }));
      expect(first.x1).toBeGreaterThan(first.x2);

      // Decoded payloads, in the page as a reader sees them.
      const payloads = await page.locator('#payloads').innerText();
      for (const text of ['70016', '/Satoshi:29.0.0/', 'NETWORK_LIMITED', 'P2P_V2', 'low-bandwidth', '9170997 sat/kvB', '0.09170997 BTC/kvB']) {
        expect(payloads).toContain(text);
      }
      expect(await page.locator('#payloads .card').count()).toBe(2);

      // Every checked teaching note holds on a real Core handshake.
      const verdicts = await page.locator('.verdict').evaluateAll((ps) => ps.map((p) => p.className));
      expect(verdicts).toHaveLength(5);
      expect(verdicts.every((c) => c.includes('holds'))).toBe(true);
      const links = await page.locator('.sources a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
      for (const bip of ['0339', '0155', '0152', '0324']) expect(links.some((l) => l?.includes(`bip-${bip}`))).toBe(true);

      // The long part stays folded until asked for.
      expect(await page.locator('#rest-diagram').isVisible()).toBe(false);

      const fullPage = join(workDir, 'report.png');
      await page.screenshot({ path: fullPage, fullPage: true });

      const png = await handshake.screenshot();
      const figureBox = (await handshake.boundingBox())!;
      const arrows = await handshake.locator('.arrow').evaluateAll((lines) =>
        lines.map((l) => {
          const r = l.getBoundingClientRect();
          return { x: r.left + r.width / 2, y: r.top + r.height / 2, width: r.width, color: l.getAttribute('stroke')! };
        }),
      );
      const probe = await context.newPage();
      try {
        const pixels = await countArrowPixels(
          probe,
          png.toString('base64'),
          Object.values(KIND_STYLES).map((k) => k.color),
          arrows.map((a) => ({ x: a.x - figureBox.x, y: a.y - figureBox.y, color: a.color })),
        );
        // Every arrow's midpoint is painted in its kind's colour…
        expect(pixels.midpointHits).toBe(arrows.length);
        // …and the colours cover roughly the arrows' drawn length (2.5 px stroke).
        const drawnLength = arrows.reduce((sum, a) => sum + a.width, 0);
        expect(pixels.total).toBeGreaterThan(drawnLength * 1.5);
      } finally {
        await probe.close();
      }
    });
  });

  it('escapes everything that comes from the trace', async () => {
    const hostileAgent = '<script>alert("ua")</script>';
    const uaHex = Buffer.from(hostileAgent).toString('hex');
    const versionHex =
      '80110100' + '090c000000000000' + 'b906076b00000000' + '00'.repeat(26) + '00'.repeat(26) + '14b01637bf33551d' +
      hostileAgent.length.toString(16).padStart(2, '0') + uaHex + '00000000' + '01';
    const evil = '<img src=x onerror=alert(1)>';
    const events: TraceEvent[] = [
      {
        tracepoint: 'net:outbound_message',
        t: 0,
        node: 1,
        peer_node: 0,
        source: 'usdt',
        args: { peer_id: 0, peer_addr: '"><img src=y>', peer_conn_type: 'manual', msg_type: 'version', msg_size: versionHex.length / 2, msg: versionHex },
      },
      {
        tracepoint: 'net:outbound_message',
        t: 10,
        node: 1,
        peer_node: 0,
        source: 'usdt',
        args: { peer_id: 0, peer_addr: '127.0.0.1:1', peer_conn_type: 'manual', msg_type: evil, msg_size: 1 },
      },
    ];
    const title = '</title><script>alert("title")</script>';
    const url = await writeReport('hostile.html', {
      title,
      events,
      nodes: [{ index: 0, name: '<b>zero</b>' }, { index: 1, name: 'one' }],
      scenario: '<iframe src="https://example.com">',
    });
    await withPage(async (page) => {
      const watched = await openWatched(page, url);
      expect(watched.dialogs).toEqual([]);
      expect(watched.consoleErrors).toEqual([]);
      expect(watched.requests).toEqual([url]);
      expect(await page.locator('script, img, iframe, b:text-is("zero")').count()).toBe(0);
      expect(await page.title()).toBe(title);
      expect(await page.locator('#payloads .user-agent').textContent()).toBe(hostileAgent);
      expect(await page.locator('.msg-type').allTextContents()).toEqual(['version', evil]);
      expect(await page.locator('.lane-name').first().textContent()).toBe('<b>zero</b>');
    });
  });
});

interface BrowserCanvasApi {
  Image: new () => { src: string; width: number; height: number; decode(): Promise<void> };
  document: {
    createElement(tag: 'canvas'): {
      width: number;
      height: number;
      getContext(kind: '2d'): {
        drawImage(image: unknown, x: number, y: number): void;
        getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray; width: number; height: number };
      } | null;
    };
  };
}

/** Decodes the PNG in Chromium (canvas) and counts pixels close to the arrow colours. */
async function countArrowPixels(
  probe: Page,
  pngBase64: string,
  colors: string[],
  midpoints: { x: number; y: number; color: string }[],
): Promise<{ total: number; midpointHits: number }> {
  return probe.evaluate(
    async ({ pngBase64, colors, midpoints }) => {
      // The typecheck has no DOM lib; name just the browser APIs used here.
      const browser = globalThis as unknown as BrowserCanvasApi;
      const rgb = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
      const image = new browser.Image();
      image.src = `data:image/png;base64,${pngBase64}`;
      await image.decode();
      const canvas = browser.document.createElement('canvas');
      canvas.width = image.width;
      canvas.height = image.height;
      const ctx = canvas.getContext('2d')!;
      ctx.drawImage(image, 0, 0);
      const { data, width, height } = ctx.getImageData(0, 0, image.width, image.height);
      const near = (x: number, y: number, target: number[]) => {
        const i = (y * width + x) * 4;
        return target.every((c, k) => Math.abs((data[i + k] ?? 0) - c) <= 24);
      };
      const targets = colors.map(rgb);
      let total = 0;
      for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) if (targets.some((t) => near(x, y, t))) total++;
      let midpointHits = 0;
      for (const m of midpoints) {
        const target = rgb(m.color);
        const hit = [-1, 0, 1].some((dy) => near(Math.round(m.x), Math.round(m.y) + dy, target));
        if (hit) midpointHits++;
      }
      return { total, midpointHits };
    },
    { pngBase64, colors, midpoints },
  );
}
