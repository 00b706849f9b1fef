import ipaddr from 'ipaddr.js';

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** Why an address may not be called: the ipaddr.js name of its range (loopback, private, linkLocal, ...). */
export class OutboundRefusedError extends Error {
  constructor(
    readonly address: string,
    readonly range: string,
  ) {
    super(`${address} is a ${range} address, which outbound requests may not reach (OUTBOUND_ALLOW_CIDRS can allow it)`);
    this.name = 'OutboundRefusedError';
  }
}

/**
 * Which addresses outbound requests may reach: public unicast only, unless an operator
 * allows ranges by name (OUTBOUND_ALLOW_CIDRS). Loopback, private, link-local (cloud
 * metadata), unique-local, unspecified, multicast, carrier-grade NAT, reserved, NAT64,
 * 6to4 and Teredo are refused; an IPv4 address written as IPv6 (mapped or compatible) is
 * judged by the IPv4 address it carries, and refused unless that one is allowed by name.
 */
export class OutboundAddressPolicy {
  private readonly allowed: Range[];

  /** `allowCidrs`: CIDR ranges separated by commas (empty: none). */
  constructor(allowCidrs = '') {
    this.allowed = allowCidrs
      .split(',')
      .map((cidr) => cidr.trim())
      .filter(Boolean)
      .map((cidr) => ipaddr.parseCIDR(cidr));
  }

  /** Undefined when `address` may be called; else the refusal naming its range. */
  refusal(address: string): OutboundRefusedError | undefined {
    if (!ipaddr.isValid(address)) return new OutboundRefusedError(address, 'malformed');
    const parsed = ipaddr.parse(address);
    if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
      return this.isAllowed((parsed as ipaddr.IPv6).toIPv4Address()) ? undefined : new OutboundRefusedError(address, 'ipv4Mapped');
    }
    if (this.isAllowed(parsed)) return undefined;
    const range = parsed.range();
    return range === 'unicast' ? undefined : new OutboundRefusedError(address, range);
  }

  private isAllowed(address: ipaddr.IPv4 | ipaddr.IPv6): boolean {
    return this.allowed.some(([range, bits]) => range.kind() === address.kind() && address.match(range, bits));
  }
}
