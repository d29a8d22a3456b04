/** The TypeScript test peer (v1 transport): framing, codec, peer, listener, and its place in a Network. */
export { P2PPeer, DEFAULT_PEER_SERVICES, DEFAULT_PROTOCOL_VERSION, DEFAULT_USER_AGENT, type P2PPeerOptions, type PeerTraffic, type PeerClose, type ReceivedMessage, type PeerWaitOptions } from './peer.js';
export { P2PListener } from './listener.js';
export { encodeFrame, decodeHeader, checksum, FrameDecoder, REGTEST_MAGIC, HEADER_SIZE, MAX_PROTOCOL_MESSAGE_LENGTH, type Frame, type FrameHeader, type FrameProblem } from './framing.js';
export { encodePayload, decodePayload } from './codec.js';
export { INV, commandOf, type P2PMessage, type P2PMessageType, type MessageOf, type VersionMessage, type NetAddress, type TimedAddress, type AddrV2Entry, type InvEntry } from './messages.js';
export { withIds, serializeTransaction, makeBlockHeader, serializeBlockHeader, type Transaction, type TxInput, type TxOutput, type OutPoint, type BlockHeader } from './tx.js';
export { sha256d, displayHash, wireHash } from './hash.js';
export type { AddPeerOptions, AddListeningPeerOptions, ListeningConnType, NetworkPeer, TestPeers } from './network-peers.js';
