import { BadRequestException, ValidationPipe, type ArgumentMetadata } from '@nestjs/common';
import { inheritedKeyPath } from '#libs/contracts';

/**
 * The global ValidationPipe, refusing first any body or query key that names an
 * inherited member (`constructor`, `__proto__`, ...): class-transformer would throw on
 * some (a 500) and drop others, so such input gets a 400 naming the key.
 */
export class PayloadValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    // Only what a DTO class describes: socket messages (typed unknown) are checked by their gateway.
    if ((metadata.type === 'body' || metadata.type === 'query') && this.toValidate(metadata)) {
      const inherited = inheritedKeyPath(value);
      if (inherited !== undefined) throw new BadRequestException([`${inherited} is not an allowed key`]);
    }
    return super.transform(value, metadata);
  }
}
