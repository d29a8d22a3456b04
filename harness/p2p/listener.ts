/**
 * The outbound mode of a test peer: a TCP listener a node dials (addnode … onetry, or regtest's
 * addconnection). Each accepted connection becomes a P2PPeer in the listener role.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { HarnessError } from '../common/errors.js';
import { budget, makeTiming, type Timing } from '../common/timing.js';
import { P2PPeer, type P2PPeerOptions } from './peer.js';

export class P2PListener {
  /** `127.0.0.1:port`: what the node is told to dial. */
  readonly address: string;
  private readonly waiting: Socket[] = [];
  private readonly acceptors = new Set<(socket: Socket) => void>();
  private readonly accepted = new Set<P2PPeer>();

  private constructor(
    private readonly server: Server,
    private readonly peerOptions: (socket: Socket) => P2PPeerOptions,
  ) {
    const bound = server.address();
    if (bound === null || typeof bound === 'string') throw new Error('listener is not bound to a TCP port');
    this.address = `127.0.0.1:${bound.port}`;
    server.on('connection', (socket) => {
      const [acceptor] = this.acceptors;
      if (acceptor) acceptor(socket);
      else this.waiting.push(socket);
    });
  }

  /** Listen on a free loopback port. `peerOptions` are per accepted socket (e.g. its trace lane). */
  static async open(peerOptions: P2PPeerOptions | ((socket: Socket) => P2PPeerOptions) = {}): Promise<P2PListener> {
    const server = createServer({ noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new P2PListener(server, typeof peerOptions === 'function' ? peerOptions : () => peerOptions);
  }

  /** The next connection a node makes to this listener, as a peer (which answers the handshake by default). */
  accept(timing: Timing = makeTiming()): Promise<P2PPeer> {
    const socket = this.waiting.shift();
    if (socket) return Promise.resolve(this.wrap(socket));
    return new Promise<P2PPeer>((resolve, reject) => {
      const timeoutMs = budget(timing, 'event');
      const stop = () => {
        clearTimeout(timer);
        this.acceptors.delete(onSocket);
        timing.signal?.removeEventListener('abort', onAbort);
      };
      const onSocket = (s: Socket) => {
        stop();
        resolve(this.wrap(s));
      };
      const onAbort = () => {
        stop();
        reject(timing.signal?.reason);
      };
      const timer = setTimeout(() => {
        stop();
        reject(new HarnessError('TIMEOUT', `no node dialled the test peer at ${this.address} within ${timeoutMs} ms`, {
          fix: "check the node's debug.log: a v2transport attempt, a refused connection type, or -connect/-maxconnections settings can stop it dialling",
        }));
      }, timeoutMs);
      this.acceptors.add(onSocket);
      timing.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Stop listening and close every connection it accepted. */
  async close(): Promise<void> {
    for (const socket of this.waiting.splice(0)) socket.destroy();
    await Promise.all([...this.accepted].map((peer) => peer.close()));
    if (this.server.listening) await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private wrap(socket: Socket): P2PPeer {
    const peer = new P2PPeer(socket, 'listener', this.peerOptions(socket));
    this.accepted.add(peer);
    return peer;
  }
}
