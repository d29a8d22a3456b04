/**
 * Splits diagram messages into each connection's opening handshake and everything after,
 * so a long trace starts with the part people come to learn from.
 */
import { isConnectionSetupType } from './message-kinds.js';
import { connectionKey, type DiagramMessage } from './pairing.js';

/** A pause this long ends a connection's opening burst (the v29 handshake takes ~5 ms). */
export const HANDSHAKE_QUIET_GAP_US = 1_000_000;

export interface Phases {
  handshake: DiagramMessage[];
  rest: DiagramMessage[];
}

/** A send is handshake while its connection has only exchanged setup messages, without a long pause. */
export function splitHandshake(messages: readonly DiagramMessage[]): Phases {
  const ended = new Set<string>();
  const lastSeen = new Map<string, number>();
  const phases: Phases = { handshake: [], rest: [] };
  for (const message of messages) {
    const key = connectionKey(message.send);
    const previous = lastSeen.get(key);
    lastSeen.set(key, message.send.t);
    const paused = previous !== undefined && message.send.t - previous > HANDSHAKE_QUIET_GAP_US;
    if (ended.has(key) || paused || !isConnectionSetupType(message.send.args.msg_type)) {
      ended.add(key);
      phases.rest.push(message);
    } else {
      phases.handshake.push(message);
    }
  }
  return phases;
}
