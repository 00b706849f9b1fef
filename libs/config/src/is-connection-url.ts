import { registerDecorator, type ValidationArguments } from 'class-validator';

/** Accepts a URL whose scheme is one of `protocols` and that names a host. */
export function IsConnectionUrl(protocols: readonly string[]): PropertyDecorator {
  const expected = `must be a URL like ${protocols[0]}//host:port/...`;
  return (target, propertyKey) => {
    registerDecorator({
      name: 'isConnectionUrl',
      target: target.constructor,
      propertyName: String(propertyKey),
      options: { message: expected },
      validator: {
        validate(value: unknown, _args: ValidationArguments) {
          if (typeof value !== 'string') return false;
          try {
            const url = new URL(value);
            return protocols.includes(url.protocol) && url.hostname.length > 0;
          } catch {
            return false;
          }
        },
      },
    });
  };
}
