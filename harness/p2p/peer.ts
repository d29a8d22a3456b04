/**
 * P2PPeer: a v1-transport test peer (the role of Core's P2PInterface in
 * test/functional/test_framework/p2p.py). It dials a node (`P2PPeer.connect`) or is dialled by one
 * (harness/p2p/listener.ts), speaks the handshake on its own unless told not to, answers pings,
 * and lets a test send typed messages, raw bytes, and wait on what arrives, event-driven.
 */
import { randomBytes } from 'node:crypto';
import { connect as tcpConnect, type Socket } from 'node:net';
import { HarnessError } from '../common/errors.js';
import { budget, makeTiming, type Timing } from '../common/timing.js';
import { decodePayload, encodePayload } from './codec.js';
import { decodeHeader, encodeFrame, FrameDecoder, HEADER_SIZE, type FrameProblem } from './framing.js';
import { commandOf, type MessageOf, type P2PMessage, type P2PMessageType, type VersionMessage } from './messages.js';

/** protocol.h: NODE_NETWORK | NODE_WITNESS, what Core expects of an outbound full-relay peer. */
export const DEFAULT_PEER_SERVICES = 0x9n;
/** The protocol version of Core v22+ (WTXID_RELAY_VERSION, BIP 339): enables wtxidrelay and sendaddrv2. */
export const DEFAULT_PROTOCOL_VERSION = 70016;
export const DEFAULT_USER_AGENT = '/regtest-harness:0.1.0/';

export interface P2PPeerOptions {
  protocolVersion?: number;
  services?: bigint;
  userAgent?: string;
  startHeight?: number;
  /** BIP 37 relay flag: false asks the node not to announce transactions. */
  relay?: boolean;
  /** `auto` (default): version, wtxidrelay, sendaddrv2 and verack as Core sends them. `manual`: the test sends them. */
  handshake?: 'auto' | 'manual';
  /** Answer every ping with a pong (default true). */
  answerPings?: boolean;
  /** Budgets and abort signal of the waits (harness/common/timing.ts). */
  timing?: Timing;
  /** The connection is up (called in the constructor, before any byte is sent or read). */
  onOpen?: (peer: P2PPeer) => void;
  /** Each message the peer sends or receives, as it happens (the network turns them into trace events). */
  onTraffic?: (traffic: PeerTraffic, peer: P2PPeer) => void;
  /** The connection ended (either side), once. */
  onClose?: (close: PeerClose, peer: P2PPeer) => void;
}

export interface PeerTraffic {
  direction: 'in' | 'out';
  command: string;
  /** Payload bytes (for a raw frame: the bytes after the 24-byte header, or all when shorter). */
  size: number;
  payload: Buffer;
  /** Sent with sendRaw: not necessarily a valid message. */
  raw: boolean;
  /** process.hrtime.bigint() when it was sent or completely received. */
  atNs: bigint;
}

export interface PeerClose {
  /** `remote`: the node closed it; `local`: close() here; `protocol`: the node sent bytes we cannot frame. */
  by: 'remote' | 'local' | 'protocol';
  detail: string;
  atNs: bigint;
}

export interface ReceivedMessage<M extends P2PMessage = P2PMessage> {
  message: M;
  command: string;
  size: number;
  checksumOk: boolean;
  atNs: bigint;
}

export interface PeerWaitOptions<M extends P2PMessage> {
  /** Only messages received at or after this index of `received` (peer.mark()); default: the whole history. */
  since?: number;
  where?: (message: M) => boolean;
  timing?: Timing;
  /** What is awaited, in words, for the timeout error. */
  description?: string;
}

type Role = 'dialer' | 'listener';

export class P2PPeer {
  readonly received: ReceivedMessage[] = [];
  /** The version message the node sent, once received. */
  remoteVersion: VersionMessage | undefined;
  closeInfo: PeerClose | undefined;
  readonly role: Role;
  readonly localAddress: string;
  readonly remoteAddress: string;
  private readonly options: P2PPeerOptions;
  private readonly timing: Timing;
  private readonly decoder = new FrameDecoder();
  private readonly listeners = new Set<(received: ReceivedMessage) => void>();
  private readonly closeListeners = new Set<(close: PeerClose) => void>();
  private versionSent = false;

  /** Dial a node (`host:port`): the node sees an inbound peer. Resolves once the TCP connection is up. */
  static async connect(address: string, options: P2PPeerOptions = {}): Promise<P2PPeer> {
    const { host, port } = splitAddress(address);
    const timing = options.timing ?? makeTiming();
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = tcpConnect({ host, port });
      const fail = (error: Error) => {
        s.destroy();
        reject(new HarnessError('PEER_DISCONNECTED', `the test peer could not connect to ${address}: ${error.message}`, { fix: 'check that the node is running and listening on that address', cause: error }));
      };
      const timer = setTimeout(() => fail(new Error('connect timed out')), budget(timing, 'event'));
      s.once('connect', () => {
        clearTimeout(timer);
        s.off('error', fail);
        resolve(s);
      });
      s.once('error', (e) => {
        clearTimeout(timer);
        fail(e);
      });
    });
    return new P2PPeer(socket, 'dialer', options);
  }

  /** Wraps an accepted or dialled socket; exported for the listener. */
  constructor(
    private readonly socket: Socket,
    role: Role,
    options: P2PPeerOptions = {},
  ) {
    this.role = role;
    this.options = options;
    this.timing = options.timing ?? makeTiming();
    this.localAddress = `${socket.localAddress?.replace(/^::ffff:/, '')}:${socket.localPort}`;
    this.remoteAddress = `${socket.remoteAddress?.replace(/^::ffff:/, '')}:${socket.remotePort}`;
    socket.setNoDelay(true);
    options.onOpen?.(this);
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', () => undefined); // 'close' follows and records it
    socket.on('close', () => this.finish({ by: 'remote', detail: 'the node closed the connection', atNs: process.hrtime.bigint() }));
    // The dialer speaks first (Core: the initiator sends version on connect).
    if (role === 'dialer' && (options.handshake ?? 'auto') === 'auto') queueMicrotask(() => this.sendVersionOnce());
  }

  get isClosed(): boolean {
    return this.closeInfo !== undefined;
  }

  /** The index the next received message will have: pass it as `since` to wait only for later ones. */
  mark(): number {
    return this.received.length;
  }

  /** The version message this peer sends, from its options. */
  versionMessage(): VersionMessage {
    const [host, port] = [this.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1', this.socket.remotePort ?? 0];
    return {
      type: 'version',
      protocolVersion: this.options.protocolVersion ?? DEFAULT_PROTOCOL_VERSION,
      services: this.options.services ?? DEFAULT_PEER_SERVICES,
      timestamp: BigInt(Math.floor(Date.now() / 1000)),
      addrRecv: { services: 0n, host, port },
      addrFrom: { services: 0n, host: '0.0.0.0', port: 0 },
      nonce: randomBytes(8).readBigUInt64LE(),
      userAgent: this.options.userAgent ?? DEFAULT_USER_AGENT,
      startHeight: this.options.startHeight ?? 0,
      relay: this.options.relay ?? true,
    };
  }

  send(message: P2PMessage): void {
    const payload = encodePayload(message);
    this.write(encodeFrame(commandOf(message), payload), { command: commandOf(message), size: payload.length, payload, raw: false });
    if (message.type === 'version') this.versionSent = true;
  }

  /** Bytes as they are: malformed frames, partial headers, garbage. */
  sendRaw(bytes: Uint8Array): void {
    const buffer = Buffer.from(bytes);
    const command = buffer.length >= HEADER_SIZE ? decodeHeader(buffer).command : '';
    const payload = buffer.subarray(Math.min(buffer.length, HEADER_SIZE));
    this.write(buffer, { command, size: payload.length, payload, raw: true });
  }

  /** Subscribe to every received message; returns the unsubscribe function. */
  onMessage(listener: (received: ReceivedMessage) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Subscribe to one message type: `peer.on('getdata', (m) => …)`. */
  on<T extends P2PMessageType>(type: T, handler: (message: MessageOf<T>) => void): () => void {
    return this.onMessage((r) => {
      if (r.message.type === type) handler(r.message as MessageOf<T>);
    });
  }

  /**
   * The first received message of `type` (from history, else when it arrives): no polling.
   * Rejects on timeout (budget 'event'), on abort, or when the connection closes first.
   */
  waitFor<T extends P2PMessageType>(type: T, options: PeerWaitOptions<MessageOf<T>> = {}): Promise<MessageOf<T>> {
    const matches = (r: ReceivedMessage) => r.message.type === type && (options.where?.(r.message as MessageOf<T>) ?? true);
    const hit = this.received.slice(options.since ?? 0).find(matches);
    if (hit) return Promise.resolve(hit.message as MessageOf<T>);
    const description = options.description ?? `'${type}' from ${this.remoteAddress}`;
    return this.waitOn<MessageOf<T>>(description, options.timing ?? this.timing, (done) =>
      this.onMessage((r) => {
        if (matches(r)) done(r.message as MessageOf<T>);
      }),
    );
  }

  /** Resolves with how the connection ended (immediately when it already has). */
  waitForClose(options: { timing?: Timing; description?: string } = {}): Promise<PeerClose> {
    if (this.closeInfo) return Promise.resolve(this.closeInfo);
    const timing = options.timing ?? this.timing;
    return new Promise<PeerClose>((resolve, reject) => {
      const timeoutMs = budget(timing, 'event');
      const stop = () => {
        clearTimeout(timer);
        this.closeListeners.delete(onClose);
        timing.signal?.removeEventListener('abort', onAbort);
      };
      const onClose = (close: PeerClose) => {
        stop();
        resolve(close);
      };
      const onAbort = () => {
        stop();
        reject(timing.signal?.reason);
      };
      const timer = setTimeout(() => {
        stop();
        reject(new HarnessError('TIMEOUT', `timed out after ${timeoutMs} ms waiting for ${options.description ?? `${this.remoteAddress} to close the connection`}`, {
          fix: 'check the node\'s debug.log for why it kept the peer (noban/manual peers are not disconnected for misbehaving)',
          evidence: this.describeReceived(),
        }));
      }, timeoutMs);
      this.closeListeners.add(onClose);
      timing.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The handshake is complete once the node's verack arrived (and ours went out). */
  async waitForHandshake(options: { timing?: Timing } = {}): Promise<VersionMessage> {
    const timing = options.timing ?? this.timing;
    await this.waitFor('verack', { timing: { ...timing, timeoutFactor: timing.timeoutFactor * (budget(timing, 'handshake') / budget(timing, 'event')) }, description: `the handshake with ${this.remoteAddress} (its verack)` });
    return this.remoteVersion!;
  }

  /** Send a ping with a fresh nonce and wait for its pong: every message sent before it has been processed by the node. */
  async syncWithPing(options: { timing?: Timing } = {}): Promise<void> {
    const nonce = randomBytes(8).readBigUInt64LE();
    this.send({ type: 'ping', nonce });
    await this.waitFor('pong', { where: (m) => m.nonce === nonce, description: `the pong to ping ${nonce.toString(16)}`, ...options });
  }

  /** Close the socket (idempotent); resolves once it is closed. */
  async close(): Promise<void> {
    if (!this.socket.destroyed) {
      const closed = new Promise<void>((resolve) => this.socket.once('close', () => resolve()));
      this.finish({ by: 'local', detail: 'closed by the test', atNs: process.hrtime.bigint() });
      this.socket.destroy();
      await closed;
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  describeReceived(): string {
    const types = this.received.map((r) => r.command);
    return `${this.role === 'dialer' ? 'dialled' : 'accepted from'} ${this.remoteAddress}; received ${types.length ? types.join(', ') : '(nothing)'}${this.closeInfo ? `; closed (${this.closeInfo.detail})` : ''}`;
  }

  private waitOn<R>(description: string, timing: Timing, subscribe: (done: (value: R) => void) => () => void): Promise<R> {
    if (timing.signal?.aborted) return Promise.reject(timing.signal.reason);
    return new Promise<R>((resolve, reject) => {
      const timeoutMs = budget(timing, 'event');
      const settle = (outcome: () => void) => {
        clearTimeout(timer);
        unsubscribe();
        this.closeListeners.delete(onClose);
        timing.signal?.removeEventListener('abort', onAbort);
        outcome();
      };
      const unsubscribe = subscribe((value) => settle(() => resolve(value)));
      const onClose = (close: PeerClose) =>
        settle(() => reject(new HarnessError('PEER_DISCONNECTED', `the connection to ${this.remoteAddress} closed (${close.detail}) before ${description}`, { fix: 'read the node\'s debug.log: it says why it dropped the peer', evidence: this.describeReceived() })));
      const onAbort = () => settle(() => reject(timing.signal?.reason));
      const timer = setTimeout(
        () => settle(() => reject(new HarnessError('TIMEOUT', `timed out after ${timeoutMs} ms waiting for ${description}`, { fix: 'check what the node sent (evidence) and its debug.log; raise REGTEST_HARNESS_TIMEOUT_FACTOR on a slow machine', evidence: this.describeReceived() }))),
        timeoutMs,
      );
      if (this.closeInfo) return onClose(this.closeInfo);
      this.closeListeners.add(onClose);
      timing.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private write(bytes: Buffer, traffic: Omit<PeerTraffic, 'direction' | 'atNs'>): void {
    if (this.socket.destroyed || this.closeInfo) {
      throw new HarnessError('PEER_DISCONNECTED', `cannot send '${traffic.command || 'raw bytes'}': the connection to ${this.remoteAddress} is closed`, { fix: 'send before the node disconnects, or wait for a new connection', evidence: this.describeReceived() });
    }
    this.options.onTraffic?.({ direction: 'out', atNs: process.hrtime.bigint(), ...traffic }, this);
    this.socket.write(bytes);
  }

  private sendVersionOnce(): void {
    if (this.versionSent || this.isClosed) return;
    this.send(this.versionMessage());
  }

  private onData(chunk: Buffer): void {
    const { frames, problem } = this.decoder.push(chunk);
    for (const frame of frames) {
      const atNs = process.hrtime.bigint();
      const message = decodePayload(frame.command, frame.payload);
      const received: ReceivedMessage = { message, command: frame.command, size: frame.payload.length, checksumOk: frame.checksumOk, atNs };
      this.options.onTraffic?.({ direction: 'in', command: frame.command, size: frame.payload.length, payload: frame.payload, raw: false, atNs }, this);
      this.received.push(received);
      this.react(message);
      for (const listener of [...this.listeners]) listener(received);
    }
    if (problem) this.protocolError(problem);
  }

  /** What a Core peer does on its own: the handshake replies and pongs. */
  private react(message: P2PMessage): void {
    if (this.isClosed) return;
    if (message.type === 'ping' && (this.options.answerPings ?? true)) this.send({ type: 'pong', nonce: message.nonce });
    if (message.type !== 'version') return;
    this.remoteVersion = message;
    if ((this.options.handshake ?? 'auto') !== 'auto') return;
    this.sendVersionOnce();
    const ours = this.options.protocolVersion ?? DEFAULT_PROTOCOL_VERSION;
    // BIP 339 / BIP 155 announcements go between version and verack, as net_processing.cpp sends them.
    if (ours >= DEFAULT_PROTOCOL_VERSION && message.protocolVersion >= DEFAULT_PROTOCOL_VERSION) this.send({ type: 'wtxidrelay' });
    if (ours >= DEFAULT_PROTOCOL_VERSION) this.send({ type: 'sendaddrv2' });
    this.send({ type: 'verack' });
  }

  private protocolError(problem: FrameProblem): void {
    const detail = problem.kind === 'bad-magic' ? `bad magic ${problem.magic.toString('hex')}` : `'${problem.command}' declares ${problem.length} bytes`;
    this.finish({ by: 'protocol', detail: `the node sent an unframeable message (${detail})`, atNs: process.hrtime.bigint() });
    this.socket.destroy();
  }

  private finish(close: PeerClose): void {
    if (this.closeInfo) return;
    this.closeInfo = close;
    this.options.onClose?.(close, this);
    for (const listener of [...this.closeListeners]) listener(close);
  }
}

export function splitAddress(address: string): { host: string; port: number } {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address);
  if (!match) throw new HarnessError('BAD_OPTION', `'${address}' is not a host:port address`, { fix: 'pass an address such as 127.0.0.1:18444 (node.p2pAddress)' });
  return { host: match[1]!, port: Number(match[2]) };
}
