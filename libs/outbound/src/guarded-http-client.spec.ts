import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LookupAddress } from 'node:dns';
import { GuardedHttpClient, OutboundUrlError, type Resolver } from './guarded-http-client.js';
import { OutboundAddressPolicy } from './outbound-address-policy.js';

/** A resolver without DNS (a stub of the name service, which this machine has no reach to): answers from a table. */
function tableResolver(table: Record<string, string[]>): Resolver {
  return async (hostname) => {
    const addresses = table[hostname];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return addresses.map((address): LookupAddress => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
}

describe('GuardedHttpClient', () => {
  let server: Server;
  let port: number;
  const received: string[] = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        received.push(body);
        response.writeHead(500).end('the admin password is hunter2');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const closed = new GuardedHttpClient(new OutboundAddressPolicy(''), tableResolver({ 'hooks.example.com': ['93.184.215.14'] }));

  it.each([
    ['http://127.0.0.1/', 'loopback'],
    ['http://[::1]/', 'loopback'],
    ['http://0.0.0.0/', 'unspecified'],
    ['http://[::]/', 'unspecified'],
    ['http://0x7f000001/', 'loopback'],
    ['http://2130706433/', 'loopback'],
    ['http://0177.0.0.1/', 'loopback'],
    ['http://[::ffff:127.0.0.1]/', 'ipv4Mapped'],
    ['http://[::ffff:10.0.0.1]/', 'ipv4Mapped'],
    ['http://169.254.169.254/latest/meta-data/', 'linkLocal'],
    ['http://[fe80::1]/', 'linkLocal'],
    ['http://10.1.2.3/', 'private'],
    ['http://172.16.0.1/', 'private'],
    ['http://192.168.1.1/', 'private'],
    ['http://100.64.0.1/', 'carrierGradeNat'],
    ['http://[fd00::1]/', 'uniqueLocal'],
    ['http://224.0.0.1/', 'multicast'],
    ['http://[64:ff9b::7f00:1]/', 'rfc6052'],
    ['http://[2002:7f00:1::]/', '6to4'],
  ])('refuses %s (%s) before any connection', async (url, range) => {
    await expect(closed.check(url)).rejects.toThrow(new RegExp(`is a ${range} address`));
    await expect(closed.post(url, { headers: {}, body: '{}', timeoutMs: 1000 })).rejects.toThrow(OutboundUrlError);
  });

  it('refuses a name that resolves to a loopback address (localhost through the system resolver)', async () => {
    const system = new GuardedHttpClient(new OutboundAddressPolicy(''));
    await expect(system.check(`http://localhost:${port}/`)).rejects.toThrow(/is a loopback address/);
    await expect(system.post(`http://localhost:${port}/`, { headers: {}, body: '{}', timeoutMs: 1000 })).rejects.toThrow(/loopback/);
    expect(received).toHaveLength(0);
  });

  it('accepts public addresses and names resolving to them, and names that do not resolve yet', async () => {
    await expect(closed.check('https://93.184.215.14/hook')).resolves.toBeUndefined();
    await expect(closed.check('https://hooks.example.com/hook')).resolves.toBeUndefined();
    await expect(closed.check('https://unknown.example.com/hook')).resolves.toBeUndefined();
    await expect(closed.check('ftp://hooks.example.com/')).rejects.toThrow(OutboundUrlError);
  });

  it('re-checks at connection: a name that rebinds to 127.0.0.1 after the check is refused and never reached', async () => {
    let answers = 0;
    const rebinding: Resolver = async () => [{ address: answers++ === 0 ? '93.184.215.14' : '127.0.0.1', family: 4 }];
    const client = new GuardedHttpClient(new OutboundAddressPolicy(''), rebinding);
    await expect(client.check(`http://rebind.example.com:${port}/`)).resolves.toBeUndefined();
    await expect(client.post(`http://rebind.example.com:${port}/`, { headers: {}, body: '{}', timeoutMs: 1000 })).rejects.toThrow(
      /127\.0\.0\.1 is a loopback address/,
    );
    expect(received).toHaveLength(0);
  });

  it('reaches a range the operator allowed, answering the status and timing but never the body', async () => {
    const allowed = new GuardedHttpClient(new OutboundAddressPolicy('127.0.0.1/32'), tableResolver({ 'receiver.test': ['127.0.0.1'] }));
    for (const url of [`http://127.0.0.1:${port}/hook`, `http://receiver.test:${port}/hook`]) {
      const answer = await allowed.post(url, { headers: { 'content-type': 'application/json' }, body: '{"n":1}', timeoutMs: 5000 });
      expect(answer).toEqual({ status: 500, durationMs: expect.any(Number) });
      expect(Object.keys(answer)).toEqual(['status', 'durationMs']);
    }
    expect(received).toEqual(['{"n":1}', '{"n":1}']);
    // An allowed IPv4 range does not open the IPv6 loopback, nor other IPv4 loopback addresses.
    await expect(allowed.check('http://[::1]/')).rejects.toThrow(/loopback/);
    await expect(allowed.check('http://127.0.0.2/')).rejects.toThrow(/loopback/);
  });
});
