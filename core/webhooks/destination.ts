import { lookup as dnsLookup } from 'node:dns/promises';
import { classifyAddress, KIND_NAMES } from './address.ts';

// Where a webhook may go, checked when an admin registers the URL and again before every delivery (a name's
// addresses can change in between): http or https, no credentials in the URL, and every address the host resolves
// to allowed (see address.ts). Delivery then connects to the addresses checked here, never resolving again.

export type ResolvedAddress = { address: string; family: 4 | 6 };
export type Destination = { url: URL; addresses: ResolvedAddress[] };
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

/** The destination cannot be one, whatever is retried: a bad URL, a refused address. */
export class WebhookDestinationRefused extends Error {
  override name = 'WebhookDestinationRefused';
}

/** The host does not resolve now; it may later. */
export class WebhookHostUnresolved extends Error {
  override name = 'WebhookHostUnresolved';
}

const resolveAll: Resolver = async (hostname) =>
  (await dnsLookup(hostname, { all: true, verbatim: true })).map(({ address, family }) => ({
    address,
    family: family === 6 ? 6 : 4,
  }));

/** The URL without credentials, query or fragment (which may hold tokens): what a ledger entry may show. */
export const redactedUrl = (url: URL) => `${url.protocol}//${url.host}${url.pathname}`;

export async function checkDestination(
  raw: string,
  { allowPrivate, resolve = resolveAll }: { allowPrivate: boolean; resolve?: Resolver },
): Promise<Destination> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookDestinationRefused('webhook url is not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new WebhookDestinationRefused(`webhook url must be http or https, not ${url.protocol.slice(0, -1)}`);
  }
  if (url.username || url.password) throw new WebhookDestinationRefused('webhook url must not carry credentials');
  // The WHATWG parser has already turned 2130706433, 0x7f.1 and 0177.0.0.1 into 127.0.0.1.
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: ResolvedAddress[];
  if (classifyAddress(host)) addresses = [{ address: host, family: host.includes(':') ? 6 : 4 }];
  else {
    try {
      addresses = await resolve(host);
    } catch (error) {
      throw new WebhookHostUnresolved(`webhook url host ${host} does not resolve (${(error as Error).message})`);
    }
    if (addresses.length === 0) throw new WebhookHostUnresolved(`webhook url host ${host} has no address`);
  }
  // Every address, not the first: a name answering with a public and a private address must not pass.
  for (const { address } of addresses) {
    const found = classifyAddress(address);
    if (!found) throw new WebhookDestinationRefused(`webhook url resolves to ${address}, which is not an address`);
    const named = `webhook url resolves to ${address}, ${KIND_NAMES[found.kind]}`;
    if (found.refused) throw new WebhookDestinationRefused(`${named}; webhooks cannot be sent there`);
    if (found.internal && !allowPrivate) {
      throw new WebhookDestinationRefused(`${named}; an admin may set allow_private`);
    }
  }
  return { url, addresses };
}
