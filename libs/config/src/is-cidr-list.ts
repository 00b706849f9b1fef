import { registerDecorator } from 'class-validator';
import ipaddr from 'ipaddr.js';

/** Accepts CIDR ranges (IPv4 or IPv6) separated by commas, or nothing. */
export function IsCidrList(): PropertyDecorator {
  return (target, propertyKey) => {
    registerDecorator({
      name: 'isCidrList',
      target: target.constructor,
      propertyName: String(propertyKey),
      options: { message: 'must be CIDR ranges like 10.0.0.0/8 or fd00::/8, separated by commas' },
      validator: {
        validate: (value: unknown) =>
          typeof value === 'string' &&
          value
            .split(',')
            .map((cidr) => cidr.trim())
            .filter(Boolean)
            .every((cidr) => ipaddr.isValidCIDR(cidr)),
      },
    });
  };
}
