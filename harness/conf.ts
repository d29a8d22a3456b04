import { createHmac, randomBytes } from 'node:crypto';
import { versionAtLeast } from './common/version.js';

/** Typed options that become a node's bitcoin.conf. */
export interface NodeConf {
  p2pPort: number;
  rpcPort: number;
  rpcUser: string;
  /** `rpcauth=` line value (user:salt$hmac): the password itself never reaches a command line or the conf. */
  rpcAuth: string;
  /** Addresses for `-connect=` (startup topology). */
  connect: readonly string[];
  /** Addresses for `-addnode=` (startup topology, kept retrying). */
  addnode: readonly string[];
  /** Whitelist loopback peers with noban: skips the Poisson trickle delay (~5 s inbound, ~2 s outbound) between harness nodes. */
  fastRelay: boolean;
  /** The binary's version ("28.1.0"): the whitelist's `in,out` directions exist since v28.0 (Core PR #27114; v27.2 rejects them). */
  version: string;
  /** BIP324 v2 transport; undefined keeps the binary's default (on since v27). */
  v2transport: boolean | undefined;
  /** Extra `-name=value` arguments, written as conf lines. */
  extraArgs: readonly string[];
}

export interface RpcCredentials {
  user: string;
  password: string;
  rpcAuth: string;
}

/** Random per-node credentials in Core's rpcauth format (HMAC-SHA256 of the password keyed by a salt). */
export function makeRpcCredentials(user = 'harness'): RpcCredentials {
  const password = randomBytes(24).toString('base64url');
  const salt = randomBytes(16).toString('hex');
  const hmac = createHmac('sha256', salt).update(password).digest('hex');
  return { user, password, rpcAuth: `${user}:${salt}$${hmac}` };
}

/** Settings every harness node gets: loopback only, nothing discovered, nothing from outside. */
const ISOLATION = ['listenonion=0', 'dnsseed=0', 'fixedseeds=0', 'discover=0', 'upnp=0', 'natpmp=0'];

export function renderConf(conf: NodeConf): string {
  const lines = [
    '# Written by regtest-harness; the node is started with -datadir pointing here.',
    'regtest=1',
    '',
    '[regtest]',
    'server=1',
    // -connect would turn listening off; every harness node listens so others can dial it.
    'listen=1',
    `bind=127.0.0.1:${conf.p2pPort}`,
    `rpcbind=127.0.0.1:${conf.rpcPort}`,
    `rpcport=${conf.rpcPort}`,
    'rpcallowip=127.0.0.1',
    `rpcauth=${conf.rpcAuth}`,
    ...ISOLATION,
    'printtoconsole=0',
    'shrinkdebugfile=0',
    // The log tracer and failure bundles read these lines.
    'debug=net',
    'logtimemicros=1',
    'fallbackfee=0.0002',
    // As Core's functional tests do (test_framework/util.py): a wallet derives 1 key per descriptor
    // up front, not 1000, so createwallet takes ~0.05 s instead of ~0.4 s; more are derived on demand.
    'keypool=1',
    ...(conf.fastRelay ? [whitelistLine(conf.version)] : []),
    ...(conf.v2transport === undefined ? [] : [`v2transport=${conf.v2transport ? 1 : 0}`]),
    ...conf.connect.map((a) => `connect=${a}`),
    ...conf.addnode.map((a) => `addnode=${a}`),
    ...conf.extraArgs.map(argToConfLine),
    '',
  ];
  return lines.join('\n');
}

/**
 * noban for every loopback peer. Since v28.0 a whitelist covers inbound peers only unless it names
 * `out` (Core PR #27114); earlier versions reject the directions ("Invalid P2P permission: 'in'")
 * and apply the whitelist to inbound peers, which is all they can.
 */
export function whitelistLine(version: string): string {
  return versionAtLeast(version, '28.0') ? 'whitelist=noban,in,out@127.0.0.1' : 'whitelist=noban@127.0.0.1';
}

/** `-foo=bar` or `foo=bar` or `-foo` → `foo=bar` / `foo=1`. */
export function argToConfLine(arg: string): string {
  const stripped = arg.replace(/^-+/, '');
  return stripped.includes('=') ? stripped : `${stripped}=1`;
}
