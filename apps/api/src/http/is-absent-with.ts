import { registerDecorator, type ValidationArguments } from 'class-validator';

/** The property may not be given together with `other` (two ways of saying one thing). */
export function IsAbsentWith(other: string): PropertyDecorator {
  return (target, propertyKey) =>
    registerDecorator({
      name: 'isAbsentWith',
      target: target.constructor,
      propertyName: String(propertyKey),
      options: { message: `give ${String(propertyKey)} or ${other}, not both` },
      validator: {
        validate: (value: unknown, args: ValidationArguments) =>
          value === undefined || (args.object as Record<string, unknown>)[other] === undefined,
      },
    });
}
