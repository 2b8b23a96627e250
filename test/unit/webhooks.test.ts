// Webhooks that cannot be turned against the network: which addresses are internal (IPv4, IPv6, IPv4 inside IPv6,
// the numeric forms the URL parser normalises), the destination check over every resolved address, Standard
// Webhooks signatures as the reference verifier (`standardwebhooks`) reads them, and a delivery that connects
// only to the address it checked and does not follow a redirect.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, describe, expect, it } from 'vitest';
import { postToDestination } from '../../activities/webhook.ts';
import { classifyAddress } from '../../core/webhooks/address.ts';
import { checkDestination, type Resolver } from '../../core/webhooks/destination.ts';
import { newWebhookSecret, signWebhook, webhookHeaders } from '../../core/webhooks/signing.ts';
import { signingSecrets, type WebhookEndpointRecord } from '../../core/webhooks/store.ts';

describe('classifyAddress', () => {
  it.each([
    ['8.8.8.8', 'public'],
    ['1.1.1.1', 'public'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.1', 'public'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'shared'],
    ['100.128.0.1', 'public'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['2606:4700:4700::1111', 'public'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['[fe80::1%eth0]', 'link-local'],
    ['febf::1', 'link-local'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['ff02::1', 'multicast'],
    // IPv4 inside IPv6: mapped, in both spellings, compatible, NAT64, 6to4.
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::ffff:8.8.8.8', 'public'],
    ['::127.0.0.1', 'loopback'],
    ['64:ff9b::a9fe:a9fe', 'link-local'],
    ['2002:7f00:1::', 'loopback'],
  ])('%s is %s', (address, kind) => {
    expect(classifyAddress(address)?.kind).toBe(kind);
  });

  it('marks what allow_private admits and what is never a destination', () => {
    expect(classifyAddress('10.0.0.1')).toEqual({ kind: 'private', internal: true, refused: false });
    expect(classifyAddress('0.0.0.0')).toEqual({ kind: 'unspecified', internal: false, refused: true });
    expect(classifyAddress('8.8.8.8')).toEqual({ kind: 'public', internal: false, refused: false });
    expect(classifyAddress('example.com')).toBeUndefined();
  });
});

describe('checkDestination', () => {
  const resolvesTo =
    (...addresses: string[]): Resolver =>
    async () =>
      addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  const refused = (url: string, resolve?: Resolver) => checkDestination(url, { allowPrivate: false, resolve });

  it('refuses loopback and the metadata service with a message naming the address and the way out', async () => {
    await expect(refused('http://127.0.0.1:8080/hook')).rejects.toThrow(
      'webhook url resolves to 127.0.0.1, a loopback address; an admin may set allow_private',
    );
    await expect(refused('http://169.254.169.254/latest/meta-data/')).rejects.toThrow(
      /^webhook url resolves to 169\.254\.169\.254, a link-local address .*; an admin may set allow_private$/,
    );
    await expect(refused('http://[::1]/')).rejects.toThrow('resolves to ::1, a loopback address');
    await expect(refused('http://[::ffff:127.0.0.1]/')).rejects.toThrow(/loopback/);
  });

  it.each(['http://2130706433/', 'http://0x7f.1/', 'http://0177.0.0.1/', 'http://127.1/'])(
    'sees the loopback in %s, as the URL parser normalises it',
    async (url) => {
      await expect(refused(url)).rejects.toThrow('resolves to 127.0.0.1, a loopback address');
    },
  );

  it('checks every address a name resolves to', async () => {
    await expect(refused('https://hooks.example.com/', resolvesTo('93.184.215.14', '10.0.0.7'))).rejects.toThrow(
      'resolves to 10.0.0.7, a private address',
    );
    const ok = await refused('https://hooks.example.com/x', resolvesTo('93.184.215.14'));
    expect(ok.addresses).toEqual([{ address: '93.184.215.14', family: 4 }]);
  });

  it('admits internal addresses with allow_private, never unspecified or multicast ones', async () => {
    const local = await checkDestination('http://127.0.0.1:9/', { allowPrivate: true });
    expect(local.addresses).toEqual([{ address: '127.0.0.1', family: 4 }]);
    await expect(checkDestination('http://0.0.0.0/', { allowPrivate: true })).rejects.toThrow(
      'resolves to 0.0.0.0, an unspecified address; webhooks cannot be sent there',
    );
  });

  it('wants http(s) without credentials', async () => {
    await expect(refused('ftp://example.com/')).rejects.toThrow('must be http or https, not ftp');
    await expect(refused('https://user:pw@example.com/')).rejects.toThrow('must not carry credentials');
    await expect(refused('not a url')).rejects.toThrow('not a URL');
  });
});

describe('Standard Webhooks signatures', () => {
  it('makes secrets of 32 random bytes as whsec_ and base64', () => {
    const secret = newWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
  });

  it('signs as the reference library does, and it verifies', () => {
    const secret = newWebhookSecret();
    const body = JSON.stringify({ id: 'evt_1', object: 'event', type: 'fine_tuning.job.succeeded' });
    const timestamp = Math.floor(Date.now() / 1000);
    const reference = new Webhook(secret);
    expect(signWebhook(secret, 'evt_1', timestamp, body)).toBe(
      reference.sign('evt_1', new Date(timestamp * 1000), body),
    );
    expect(reference.verify(body, webhookHeaders([secret], 'evt_1', timestamp, body))).toMatchObject({ id: 'evt_1' });
  });

  it('signs with the old and the new secret during a rotation, so either verifies', () => {
    const [before, after] = [newWebhookSecret(), newWebhookSecret()];
    const now = Date.now();
    const record = {
      secret: after,
      previous_secret: { secret: before, expires_at: Math.floor(now / 1000) + 60 },
    } as WebhookEndpointRecord;
    expect(signingSecrets(record, now)).toEqual([after, before]);
    expect(signingSecrets(record, now + 61_000)).toEqual([after]);
    const body = '{"a":1}';
    const headers = webhookHeaders(signingSecrets(record, now), 'evt_2', Math.floor(now / 1000), body);
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    for (const secret of [before, after]) expect(new Webhook(secret).verify(body, headers)).toEqual({ a: 1 });
    expect(() => new Webhook(newWebhookSecret()).verify(body, headers)).toThrow();
  });
});

describe('postToDestination', () => {
  const received: { request: IncomingMessage; body: string }[] = [];
  let answer = 204;
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      received.push({ request, body });
      response.writeHead(answer, answer === 302 ? { location: 'http://169.254.169.254/' } : {}).end();
    });
  });
  const listening = new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('connects to the checked address, not to what the name resolves to at connect time', async () => {
    const port = await listening;
    // `hooks.invalid` resolves nowhere; the checked address is what the socket gets.
    const destination = await checkDestination(`http://hooks.invalid:${port}/in`, {
      allowPrivate: true,
      resolve: async () => [{ address: '127.0.0.1', family: 4 }],
    });
    const secret = newWebhookSecret();
    const body = '{"ok":true}';
    const headers = webhookHeaders([secret], 'evt_3', Math.floor(Date.now() / 1000), body);
    expect(await postToDestination(destination, headers, body)).toBe(204);
    const last = received.at(-1)!;
    expect(last.request.headers.host).toBe(`hooks.invalid:${port}`);
    expect(new Webhook(secret).verify(last.body, last.request.headers as Record<string, string>)).toEqual({ ok: true });
  });

  it('answers a redirect with its status, without following it', async () => {
    const port = await listening;
    answer = 302;
    const count = received.length;
    const destination = await checkDestination(`http://127.0.0.1:${port}/`, { allowPrivate: true });
    expect(await postToDestination(destination, {}, '{}')).toBe(302);
    expect(received.length).toBe(count + 1);
  });
});
