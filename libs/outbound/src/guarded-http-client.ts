import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { OutboundAddressPolicy } from './outbound-address-policy.js';

/** Resolves a host name to every address it has. */
export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses) => (error ? reject(error) : resolve(addresses))),
  );

/** What an outbound request came back with: its status and how long the answer took. The body is never read. */
export interface OutboundAnswer {
  status: number;
  durationMs: number;
}

/** A URL that outbound requests may not use at all (scheme, or an address refused by the policy). */
export class OutboundUrlError extends Error {
  override name = 'OutboundUrlError';
}

/**
 * The one way the platform calls out (webhooks and anything else): every connection
 * resolves its host through a lookup that refuses addresses outside the policy, so a
 * name that resolves differently between the check and the connection (DNS rebinding)
 * still cannot reach a private address. Redirects are not followed; answers' bodies are
 * discarded unread, so nothing a target says can be echoed back to a tenant.
 */
export class GuardedHttpClient {
  /** `resolver` defaults to the system's (getaddrinfo, as Node connects); tests give one without DNS. */
  constructor(
    private readonly policy: OutboundAddressPolicy,
    private readonly resolver: Resolver = systemResolver,
  ) {}

  /**
   * Throws OutboundUrlError when the URL cannot be called: not http(s), or a host that is
   * (or resolves to) a refused address. A name that does not resolve now passes: it is
   * checked again at each connection.
   */
  async check(url: string): Promise<void> {
    const target = this.parse(url);
    const literal = this.literalAddress(target);
    if (literal !== undefined) return this.refuseIfBlocked([literal]);
    let addresses: LookupAddress[];
    try {
      addresses = await this.resolver(target.hostname);
    } catch {
      return;
    }
    this.refuseIfBlocked(addresses.map(({ address }) => address));
  }

  /** POSTs `body` and answers the status once the headers arrive; throws on a refused address, a network failure or the timeout. */
  async post(url: string, request: { headers: Record<string, string>; body: string; timeoutMs: number }): Promise<OutboundAnswer> {
    const target = this.parse(url);
    const literal = this.literalAddress(target);
    if (literal !== undefined) this.refuseIfBlocked([literal]);
    const send = target.protocol === 'https:' ? https.request : http.request;
    const started = performance.now();
    return new Promise<OutboundAnswer>((resolve, reject) => {
      const outgoing = send(target, {
        method: 'POST',
        headers: { ...request.headers, 'content-length': Buffer.byteLength(request.body).toString() },
        lookup: this.guardedLookup,
        // No pooled sockets: every request connects, so every request goes through the lookup.
        agent: false,
        signal: AbortSignal.timeout(request.timeoutMs),
      });
      outgoing.on('response', (response) => {
        resolve({ status: response.statusCode ?? 0, durationMs: Math.round(performance.now() - started) });
        response.destroy();
      });
      outgoing.on('error', (error) => reject(error.name === 'AbortError' ? new Error(`no answer within ${request.timeoutMs} ms`) : error));
      outgoing.end(request.body);
    });
  }

  /** The lookup of every outbound connection: resolves, then refuses the connection if any address is outside the policy. */
  private readonly guardedLookup: LookupFunction = (hostname, options, callback) => {
    this.resolver(hostname).then(
      (addresses) => {
        try {
          this.refuseIfBlocked(addresses.map(({ address }) => address));
        } catch (error) {
          return callback(error as NodeJS.ErrnoException, '', 0);
        }
        if (addresses.length === 0) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
        const wanted =
          options.family === 4 || options.family === 6 ? addresses.filter(({ family }) => family === options.family) : addresses;
        if (options.all) return (callback as unknown as (error: null, addresses: LookupAddress[]) => void)(null, wanted);
        const first = wanted[0] ?? addresses[0]!;
        callback(null, first.address, first.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };

  private parse(url: string): URL {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      throw new OutboundUrlError(`${url} is not a URL`);
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new OutboundUrlError(`${target.protocol} URLs cannot be called`);
    return target;
  }

  /** The host when it is an IP address (the WHATWG parser has already turned 0x7f000001 and friends into dotted form); Node connects to those without a lookup. */
  private literalAddress(target: URL): string | undefined {
    const host = target.hostname.startsWith('[') ? target.hostname.slice(1, -1) : target.hostname;
    return isIP(host) ? host : undefined;
  }

  private refuseIfBlocked(addresses: string[]): void {
    for (const address of addresses) {
      const refusal = this.policy.refusal(address);
      if (refusal) throw new OutboundUrlError(refusal.message);
    }
  }
}
