/**
 * Bitcoin Core's USDT tracepoints as data: argument order, C types, how to decode each argument,
 * length limits, and what changed between releases. Everything that generates or decodes probe
 * programs reads from here, so a new Core release is one edit in this file.
 * Sources: Core's doc/tracing.md, the tracepoint call sites and the binaries' ELF notes (docs/sources.md, "The tracepoint catalog").
 */
import type { TracepointArgsMap, TracepointName } from './events.js';
import { versionAtLeast } from '../harness/common/version.js';

export type TracepointContext = 'net' | 'validation' | 'utxocache' | 'coin_selection' | 'mempool';

/** The C type Core passes (x86_64 widths). */
export type ArgumentCType =
  | 'int64'
  | 'uint64'
  | 'int32'
  | 'uint32'
  | 'bool'
  | 'const char*'
  | 'const unsigned char*';

/** How a tracer decodes the argument. */
export type ArgumentKind =
  | 'int' // signed integer
  | 'uint' // unsigned integer
  | 'bool'
  | 'string' // NUL-terminated C string
  | 'hash32' // 32 raw bytes, internal (little-endian) order; shown reversed, as RPC hex
  | 'bytes'; // raw buffer whose length is another argument

/** Any argument field name of any tracepoint (the keys of the typed records in events.ts). */
export type ArgumentName = {
  [N in TracepointName]: keyof TracepointArgsMap[N] & string;
}[TracepointName];

export interface TracepointArgument {
  /** The field name in the event's `args` (tracing/events.ts). */
  name: ArgumentName;
  cType: ArgumentCType;
  kind: ArgumentKind;
  meaning: string;
  /** Longest value Core passes (characters for strings, bytes for hashes), when bounded. */
  maxLength?: number;
  /** For `bytes`: the argument holding the buffer's length. */
  lengthFrom?: ArgumentName;
  /** First Core version whose probe passes this argument, when later than the tracepoint's. */
  addedIn?: string;
  /**
   * Where Core changed the argument's C type: from `version` on it is `cType` (`cType` above is the
   * type of the first release). Read from real binaries' ELF notes (docs/tracepoint-conformance.md).
   */
  typeChanges?: readonly { version: string; cType: ArgumentCType }[];
}

export interface TracepointChange {
  version: string;
  change: string;
  /** Core PR, as a URL. */
  pr?: string;
}

export interface TracepointRecord {
  context: TracepointContext;
  /** The event part of the name (after the colon). */
  event: string;
  name: TracepointName;
  arguments: readonly TracepointArgument[];
  /** First Core release carrying the tracepoint. */
  addedIn: string;
  /** First Core release whose probe is behind a semaphore (skipped unless a tracer attached). */
  semaphoreSince: string;
  changes: readonly TracepointChange[];
  /** Where in Core it fires. */
  firesAt: string;
}

// §1d: documented length limits (characters, without the terminating NUL).
export const MAX_PEER_ADDR_LENGTH = 68; // Tor v3 (62) + ":port"
export const MAX_PEER_CONN_TYPE_LENGTH = 20;
export const MAX_MSG_TYPE_LENGTH = 20;
export const MAX_MISBEHAVING_MESSAGE_LENGTH = 128;
export const MAX_REMOVAL_REASON_LENGTH = 9; // "sizelimit"
export const MAX_REJECT_REASON_LENGTH = 118;
export const WALLET_NAME_LENGTH = 16;
export const ALGO_NAME_LENGTH = 16;
export const HASH_LENGTH = 32;

/** Semaphores arrived with v29 (§6: a v28.1 USDT build has none). */
const SEMAPHORES = '29.0';

const PR_CONNECTION_TRACEPOINTS = 'https://github.com/bitcoin/bitcoin/pull/25832';
const PR_SEMAPHORES = 'https://github.com/bitcoin/bitcoin/pull/26593';
const semaphoreChange: TracepointChange = {
  version: SEMAPHORES,
  change: 'probe guarded by a semaphore: arguments are prepared only while a tracer is attached',
  pr: PR_SEMAPHORES,
};

function arg(
  name: ArgumentName,
  cType: ArgumentCType,
  kind: ArgumentKind,
  meaning: string,
  extra: Partial<Pick<TracepointArgument, 'maxLength' | 'lengthFrom' | 'addedIn' | 'typeChanges'>> = {},
): TracepointArgument {
  return { name, cType, kind, meaning, ...extra };
}

function peerArgs(): TracepointArgument[] {
  return [
    arg('peer_id', 'int64', 'int', 'peer id (NodeId)'),
    arg('peer_addr', 'const char*', 'string', 'peer address and port', {
      maxLength: MAX_PEER_ADDR_LENGTH,
    }),
    arg('peer_conn_type', 'const char*', 'string', 'connection type (ConnectionTypeAsString)', {
      maxLength: MAX_PEER_CONN_TYPE_LENGTH,
    }),
  ];
}

function messageArgs(): TracepointArgument[] {
  return [
    ...peerArgs(),
    arg('msg_type', 'const char*', 'string', 'P2P message type', { maxLength: MAX_MSG_TYPE_LENGTH }),
    arg('msg_size', 'uint64', 'uint', 'payload size in bytes'),
    arg('msg', 'const unsigned char*', 'bytes', 'payload bytes (a tracer captures at most a prefix)', {
      lengthFrom: 'msg_size',
    }),
  ];
}

function connectionArgs(last: 'existing_connections' | 'time_established', lastMeaning: string) {
  return [
    ...peerArgs(),
    arg('peer_network', 'uint32', 'uint', 'Network enum (0 unroutable, 1 IPv4, 2 IPv6, 3 onion, 4 I2P, 5 CJDNS, 6 internal)'),
    // v29.0rc3's notes: existing_connections is `8` (uint64), time_established `-8` (int64 seconds).
    last === 'existing_connections' ? arg(last, 'uint64', 'uint', lastMeaning) : arg(last, 'int64', 'int', lastMeaning),
  ];
}

function coinArgs(heightMeaning: string): TracepointArgument[] {
  return [
    arg('txid', 'const unsigned char*', 'hash32', 'txid of the coin', { maxLength: HASH_LENGTH }),
    arg('vout', 'uint32', 'uint', 'output index'),
    arg('height', 'uint32', 'uint', heightMeaning),
    arg('value', 'int64', 'int', 'value in satoshis'),
    arg('is_coinbase', 'bool', 'bool', 'coin is a coinbase output'),
  ];
}

const wallet = () =>
  arg('wallet_name', 'const char*', 'string', 'wallet name', { maxLength: WALLET_NAME_LENGTH });

function record(r: Omit<TracepointRecord, 'context' | 'event' | 'semaphoreSince'>): TracepointRecord {
  const [context, event] = r.name.split(':') as [TracepointContext, string];
  return { context, event, semaphoreSince: SEMAPHORES, ...r, changes: [...r.changes, semaphoreChange] };
}

const connectionChange = [{ version: '29.0', change: 'tracepoint added', pr: PR_CONNECTION_TRACEPOINTS }];

/** All tracepoints, in Core's doc order. */
export const catalog: readonly TracepointRecord[] = [
  record({
    name: 'net:inbound_message',
    arguments: messageArgs(),
    addedIn: '22.0',
    changes: [],
    firesAt: 'PeerManagerImpl::ProcessMessages (net_processing.cpp), after PollMessage(), before ProcessMessage(): when the message is processed, not when it arrives',
  }),
  record({
    name: 'net:outbound_message',
    arguments: messageArgs(),
    addedIn: '22.0',
    changes: [],
    firesAt: 'CConnman::PushMessage (net.cpp), when the message is queued for sending',
  }),
  record({
    name: 'net:inbound_connection',
    arguments: connectionArgs('existing_connections', 'inbound connections after adding this one'),
    addedIn: '29.0',
    changes: connectionChange,
    firesAt: 'CConnman::CreateNodeFromAcceptedSocket (net.cpp), after the node joins m_nodes',
  }),
  record({
    name: 'net:outbound_connection',
    arguments: connectionArgs('existing_connections', 'outbound connections after adding this one'),
    addedIn: '29.0',
    changes: connectionChange,
    firesAt: 'CConnman::OpenNetworkConnection (net.cpp), after ConnectNode succeeded',
  }),
  record({
    name: 'net:evicted_inbound_connection',
    arguments: connectionArgs('time_established', 'connection established, UNIX epoch seconds'),
    addedIn: '29.0',
    changes: connectionChange,
    firesAt: 'CConnman::AttemptToEvictConnection (net.cpp), before fDisconnect = true',
  }),
  record({
    name: 'net:misbehaving_connection',
    arguments: [
      arg('peer_id', 'int64', 'int', 'peer id (NodeId)'),
      arg('message', 'const char*', 'string', 'why the peer misbehaved', { maxLength: MAX_MISBEHAVING_MESSAGE_LENGTH }),
    ],
    addedIn: '29.0',
    changes: connectionChange,
    firesAt: 'PeerManagerImpl::Misbehaving (net_processing.cpp)',
  }),
  record({
    name: 'net:closed_connection',
    arguments: connectionArgs('time_established', 'connection established, UNIX epoch seconds'),
    addedIn: '29.0',
    changes: connectionChange,
    firesAt: 'CNode::CloseSocketDisconnect (net.cpp), only when a socket was still open',
  }),
  record({
    name: 'validation:block_connected',
    arguments: [
      arg('block_hash', 'const unsigned char*', 'hash32', 'block hash', { maxLength: HASH_LENGTH }),
      arg('height', 'int32', 'int', 'block height'),
      arg('transactions', 'uint64', 'uint', 'transactions in the block'),
      arg('inputs', 'int32', 'int', 'inputs spent'),
      // `-8` in the notes of v24.2, v27.2, v28.1 and v29.0rc3 alike.
      arg('sigops', 'int64', 'int', 'signature operations cost'),
      // `-8` on v24.2, `8` on v27.2 and v28.1, `-8` again on v29.0rc3 (#29877's explicit cast).
      // v25/v26 are not verified: the change is placed at the first release after v24.
      arg('duration', 'int64', 'int', 'time to connect the block: µs up to v24, ns from v25 (see changes)', {
        typeChanges: [
          { version: '25.0', cType: 'uint64' },
          { version: '29.0', cType: 'int64' },
        ],
      }),
    ],
    addedIn: '22.0',
    changes: [
      {
        version: '25.0',
        change:
          'duration became nanoseconds (steady clock) and unsigned (uint64) while the docs still said microseconds; #29877 made the ns explicit. ' +
          'v24.2 passes signed µs (the conformance suite measured it); v27.2 and v28.1 unsigned ns; v25/v26 not verified',
        pr: 'https://github.com/bitcoin/bitcoin/pull/29877',
      },
      { version: '29.0', change: 'duration signed again (int64)', pr: 'https://github.com/bitcoin/bitcoin/pull/29877' },
    ],
    firesAt: 'Chainstate::ConnectBlock (validation.cpp), after the block index is written',
  }),
  record({
    name: 'utxocache:flush',
    arguments: [
      arg('duration_us', 'int64', 'int', 'flush duration in µs'),
      arg('mode', 'uint32', 'uint', 'FlushStateMode (0 NONE, 1 IF_NEEDED, 2 PERIODIC, 3 ALWAYS)'),
      arg('coins_count', 'uint64', 'uint', 'coins in the cache before the flush'),
      arg('coins_mem_usage', 'uint64', 'uint', 'cache memory usage in bytes'),
      arg('is_flush_for_prune', 'bool', 'bool', 'flush caused by pruning'),
    ],
    addedIn: '23.0',
    changes: [{ version: '23.0', change: 'fires only on a real flush', pr: 'https://github.com/bitcoin/bitcoin/pull/23907' }],
    firesAt: 'Chainstate::FlushStateToDisk (validation.cpp), after the coins cache flush',
  }),
  record({
    name: 'utxocache:add',
    arguments: coinArgs('height of the block that created the coin'),
    addedIn: '23.0',
    changes: [],
    firesAt: 'CCoinsViewCache::AddCoin (coins.cpp)',
  }),
  record({
    name: 'utxocache:spent',
    arguments: coinArgs("the coin's height"),
    addedIn: '23.0',
    changes: [],
    firesAt: 'CCoinsViewCache::SpendCoin (coins.cpp)',
  }),
  record({
    name: 'utxocache:uncache',
    arguments: coinArgs("the coin's height"),
    addedIn: '23.0',
    changes: [],
    firesAt: 'CCoinsViewCache::Uncache (coins.cpp)',
  }),
  record({
    name: 'coin_selection:selected_coins',
    arguments: [
      wallet(),
      arg('algorithm', 'const char*', 'string', 'coin selection algorithm', { maxLength: ALGO_NAME_LENGTH }),
      arg('target', 'int64', 'int', 'selection target in satoshis'),
      arg('waste', 'int64', 'int', 'waste metric of the selection'),
      arg('selected_value', 'int64', 'int', 'total value of the selected inputs'),
    ],
    addedIn: '24.0',
    changes: [],
    firesAt: 'after SelectCoins (wallet/spend.cpp)',
  }),
  record({
    name: 'coin_selection:normal_create_tx_internal',
    arguments: [
      wallet(),
      arg('success', 'bool', 'bool', 'transaction was created'),
      arg('fee', 'int64', 'int', 'fee in satoshis'),
      arg('change_pos', 'int32', 'int', 'change output position, -1 without change'),
    ],
    addedIn: '24.0',
    changes: [{ version: '27.0', change: 'change_pos is -1 when there is no change output', pr: 'https://github.com/bitcoin/bitcoin/pull/29272' }],
    firesAt: 'after the first CreateTransactionInternal (wallet/spend.cpp)',
  }),
  record({
    name: 'coin_selection:attempting_aps_create_tx',
    arguments: [wallet()],
    addedIn: '24.0',
    changes: [],
    firesAt: 'before the avoid-partial-spends CreateTransactionInternal (wallet/spend.cpp)',
  }),
  record({
    name: 'coin_selection:aps_create_tx_internal',
    arguments: [
      wallet(),
      arg('use_aps', 'bool', 'bool', 'the avoid-partial-spends transaction is used'),
      arg('success', 'bool', 'bool', 'transaction was created'),
      arg('fee', 'int64', 'int', 'fee in satoshis'),
      arg('change_pos', 'int32', 'int', 'change output position, -1 without change'),
    ],
    addedIn: '24.0',
    changes: [{ version: '24.0', change: 'fires even when the APS attempt fails', pr: 'https://github.com/bitcoin/bitcoin/pull/25003' }],
    firesAt: 'after the avoid-partial-spends CreateTransactionInternal (wallet/spend.cpp)',
  }),
  record({
    name: 'mempool:added',
    arguments: [
      arg('txid', 'const unsigned char*', 'hash32', 'txid', { maxLength: HASH_LENGTH }),
      arg('vsize', 'int32', 'int', 'virtual size'),
      arg('fee', 'int64', 'int', 'fee in satoshis'),
    ],
    addedIn: '25.0',
    changes: [],
    firesAt: 'CTxMemPool add path (txmempool.cpp)',
  }),
  record({
    name: 'mempool:removed',
    arguments: [
      arg('txid', 'const unsigned char*', 'hash32', 'txid', { maxLength: HASH_LENGTH }),
      arg('reason', 'const char*', 'string', 'removal reason', { maxLength: MAX_REMOVAL_REASON_LENGTH }),
      arg('vsize', 'int32', 'int', 'virtual size'),
      arg('fee', 'int64', 'int', 'fee in satoshis'),
      arg('entry_time', 'uint64', 'uint', 'mempool entry time, UNIX epoch seconds'),
    ],
    addedIn: '25.0',
    changes: [],
    firesAt: 'CTxMemPool::removeUnchecked (txmempool.cpp), for every reason',
  }),
  record({
    name: 'mempool:replaced',
    arguments: [
      arg('replaced_txid', 'const unsigned char*', 'hash32', 'txid of the replaced transaction', { maxLength: HASH_LENGTH }),
      arg('replaced_vsize', 'int32', 'int', 'virtual size of the replaced transaction'),
      arg('replaced_fee', 'int64', 'int', 'fee of the replaced transaction'),
      arg('replaced_entry_time', 'uint64', 'uint', 'entry time of the replaced transaction, epoch seconds'),
      arg('replacement_txid', 'const unsigned char*', 'hash32', 'txid of the replacement (or package hash)', { maxLength: HASH_LENGTH }),
      arg('replacement_vsize', 'int32', 'int', 'virtual size of the replacement'),
      arg('replacement_fee', 'int64', 'int', 'fee of the replacement'),
      arg('replaced_by_transaction', 'bool', 'bool', 'replaced by a single transaction (false: by a package)', { addedIn: '29.0' }),
    ],
    addedIn: '25.0',
    changes: [{ version: '29.0', change: '8th argument replaced_by_transaction added with package RBF (v28.1 passes 7)' }],
    firesAt: 'MemPoolAccept finalization (validation.cpp), once per replaced transaction',
  }),
  record({
    name: 'mempool:rejected',
    arguments: [
      arg('txid', 'const unsigned char*', 'hash32', 'txid', { maxLength: HASH_LENGTH }),
      arg('reason', 'const char*', 'string', 'reject reason', { maxLength: MAX_REJECT_REASON_LENGTH }),
    ],
    addedIn: '25.0',
    changes: [],
    firesAt: 'AcceptToMemoryPool (validation.cpp) when the result is not valid (also testmempoolaccept)',
  }),
];

const byName = new Map<string, TracepointRecord>(catalog.map((r) => [r.name, r]));

export function isTracepointName(s: string): s is TracepointName {
  return byName.has(s);
}

export function tracepoint(name: TracepointName): TracepointRecord {
  const found = byName.get(name);
  if (!found) throw new RangeError(`not a catalog tracepoint: ${name}`);
  return found;
}

export const NET_TRACEPOINTS: readonly TracepointName[] = catalog.filter((r) => r.context === 'net').map((r) => r.name);

/**
 * What the USDT tracer attaches by default: the two message tracepoints and the connection ones
 * (every uprobe costs ~0.11 s to detach); a scenario asks for more (Scenario.tracepoints).
 */
export const DEFAULT_USDT_TRACEPOINTS: readonly TracepointName[] = [
  'net:inbound_message',
  'net:outbound_message',
  'net:inbound_connection',
  'net:outbound_connection',
  'net:closed_connection',
  'net:evicted_inbound_connection',
];

export function tracepointsOf(context: TracepointContext): readonly TracepointRecord[] {
  return catalog.filter((r) => r.context === context);
}

/**
 * The argument records a binary's probe carries, given its argument count from the ELF note.
 * Arguments only ever get appended (mempool:replaced: 7 → 8 in v29), so it is a prefix; a probe
 * with more arguments than the catalog knows is a newer Core we cannot decode: error.
 */
export function argumentsFor(name: TracepointName, probeArgCount: number): readonly TracepointArgument[] {
  const all = tracepoint(name).arguments;
  if (!Number.isInteger(probeArgCount) || probeArgCount < 0 || probeArgCount > all.length) {
    throw new RangeError(`${name}: the binary's probe has ${probeArgCount} arguments, the catalog knows ${all.length}`);
  }
  const present = all.slice(0, probeArgCount);
  // The minimum arity is what the earliest release passed: every argument without its own addedIn.
  const required = all.filter((a) => a.addedIn === undefined).length;
  if (probeArgCount < required) {
    throw new RangeError(`${name}: the binary's probe has ${probeArgCount} arguments, no Core release passed fewer than ${required}`);
  }
  return present;
}

/** The argument's C type in a given Core version (`typeChanges` applied in order). */
export function argumentTypeAt(argument: TracepointArgument, version: string): ArgumentCType {
  let cType = argument.cType;
  for (const change of argument.typeChanges ?? []) if (versionAtLeast(version, change.version)) cType = change.cType;
  return cType;
}

/** One argument as a given Core version passes it. */
export interface VersionedArgument {
  argument: TracepointArgument;
  cType: ArgumentCType;
}

/** What the catalog expects of one tracepoint in one Core version. */
export interface ExpectedTracepoint {
  record: TracepointRecord;
  /** The binary should carry this probe (the version is at least `addedIn`). */
  present: boolean;
  /** The arguments that version passes, with their C types; empty when absent. */
  arguments: readonly VersionedArgument[];
}

export function expectedAt(name: TracepointName, version: string): ExpectedTracepoint {
  const record = tracepoint(name);
  const present = versionAtLeast(version, record.addedIn);
  const args = present ? record.arguments.filter((a) => a.addedIn === undefined || versionAtLeast(version, a.addedIn)) : [];
  return { record, present, arguments: args.map((argument) => ({ argument, cType: argumentTypeAt(argument, version) })) };
}

/** A C type in sdt note notation, as `readelf -n` shows it without the operand: "-8" signed 8 bytes, "1" bool. */
export function noteTypeOf(cType: ArgumentCType): string {
  switch (cType) {
    case 'int64':
      return '-8';
    case 'uint64':
    case 'const char*':
    case 'const unsigned char*':
      return '8';
    case 'int32':
      return '-4';
    case 'uint32':
      return '4';
    case 'bool':
      return '1';
  }
}
