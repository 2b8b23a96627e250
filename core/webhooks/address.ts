import { isIP } from 'node:net';

// Which IP addresses a webhook may be sent to. A webhook URL is chosen by a tenant's admin and fetched by Ratchet's
// workers from inside the deployment's network, so an address that reaches that network (loopback, link-local with
// the cloud metadata service at 169.254.169.254, private ranges) would turn the webhook into a request forgery
// (OWASP API7). Such addresses are `internal`: refused unless the endpoint's admin sets allow_private. Addresses no
// unicast request should go to (unspecified, multicast, broadcast, reserved) are refused always.

export type AddressKind =
  'public' | 'loopback' | 'link-local' | 'private' | 'shared' | 'unspecified' | 'multicast' | 'reserved';

/** What an address is; `undefined` for a string that is not an IP address. */
export type AddressClass = { kind: AddressKind; internal: boolean; refused: boolean };

/** How each kind reads in an error: "127.0.0.1, a loopback address". */
export const KIND_NAMES: Record<AddressKind, string> = {
  public: 'a public address',
  loopback: 'a loopback address',
  'link-local': 'a link-local address (cloud metadata services live there)',
  private: 'a private address',
  shared: 'a carrier-grade NAT address (100.64.0.0/10)',
  unspecified: 'an unspecified address',
  multicast: 'a multicast address',
  reserved: 'a reserved address',
};

/** Reach the deployment's own networks: allowed only with allow_private. */
const INTERNAL: ReadonlySet<AddressKind> = new Set(['loopback', 'link-local', 'private', 'shared']);
/** Not a destination for one host: never allowed. */
const NEVER: ReadonlySet<AddressKind> = new Set(['unspecified', 'multicast', 'reserved']);

type Range = [base: bigint, prefix: number, kind: AddressKind];

const V4: Range[] = [
  [v4('0.0.0.0'), 8, 'unspecified'],
  [v4('10.0.0.0'), 8, 'private'],
  [v4('100.64.0.0'), 10, 'shared'],
  [v4('127.0.0.0'), 8, 'loopback'],
  [v4('169.254.0.0'), 16, 'link-local'],
  [v4('172.16.0.0'), 12, 'private'],
  // IETF protocol assignments (192.0.0.0/24), e.g. DS-Lite and NAT64 discovery: nothing a webhook should reach.
  [v4('192.0.0.0'), 24, 'private'],
  [v4('192.168.0.0'), 16, 'private'],
  // Benchmarking (198.18.0.0/15): private in practice.
  [v4('198.18.0.0'), 15, 'private'],
  [v4('224.0.0.0'), 4, 'multicast'],
  // 240.0.0.0/4 holds 255.255.255.255, the broadcast address.
  [v4('240.0.0.0'), 4, 'reserved'],
];

const V6: Range[] = [
  [0n, 128, 'unspecified'],
  [1n, 128, 'loopback'],
  [v6('fe80::'), 10, 'link-local'],
  // Site-local, deprecated but still routed by some networks.
  [v6('fec0::'), 10, 'private'],
  [v6('fc00::'), 7, 'private'],
  [v6('ff00::'), 8, 'multicast'],
];

/** The IPv4 address an IPv6 address carries: mapped (::ffff:a.b.c.d), compatible (::a.b.c.d), NAT64, 6to4. */
function embeddedV4(value: bigint): bigint | undefined {
  const low32 = value & 0xffff_ffffn;
  if (value >> 32n === 0xffffn) return low32; // ::ffff:0:0/96
  if (value >> 32n === 0n && value > 1n) return low32; // ::/96, the deprecated IPv4-compatible form
  if (value >> 32n === v6('64:ff9b::') >> 32n) return low32; // 64:ff9b::/96, NAT64
  if (value >> 112n === 0x2002n) return (value >> 80n) & 0xffff_ffffn; // 2002::/16, 6to4
  return undefined;
}

/** Classifies an IPv4 or IPv6 address (no brackets, no zone needed); undefined when `address` is none. */
export function classifyAddress(address: string): AddressClass | undefined {
  const plain = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = isIP(plain);
  if (family === 0) return undefined;
  let kind: AddressKind;
  if (family === 4) kind = lookup(V4, v4(plain), 32);
  else {
    const value = v6(plain);
    const inner = embeddedV4(value);
    kind = inner === undefined ? lookup(V6, value, 128) : lookup(V4, inner, 32);
  }
  return { kind, internal: INTERNAL.has(kind), refused: NEVER.has(kind) };
}

function lookup(ranges: Range[], value: bigint, bits: number): AddressKind {
  for (const [base, prefix, kind] of ranges) {
    const shift = BigInt(bits - prefix);
    if (value >> shift === base >> shift) return kind;
  }
  return 'public';
}

function v4(address: string): bigint {
  return address.split('.').reduce((value, part) => (value << 8n) | BigInt(Number(part)), 0n);
}

/** An IPv6 address as a 128-bit number; a trailing dotted IPv4 part counts as its last 32 bits. */
function v6(address: string): bigint {
  let text = address.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const value = v4(dotted[1]);
    text = `${text.slice(0, -dotted[1].length)}${(value >> 16n).toString(16)}:${(value & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array<string>(missing).fill('0'), ...tailGroups];
  return groups.reduce((value, group) => (value << 16n) | BigInt(parseInt(group, 16)), 0n);
}
