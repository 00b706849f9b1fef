import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Length, Matches, Max, Min, ValidateBy, type ValidationOptions } from 'class-validator';

/** Largest attributes object of one environment, as JSON text: attributes describe a resource, they are not a data store. */
export const MAX_ATTRIBUTES_BYTES = 16_384;
/** Longest lease one request may ask for (7 days); extend to hold longer. */
export const MAX_LEASE_SECONDS = 604_800;
/** Longest an allocation request may wait for a free environment over HTTP. */
export const MAX_WAIT_SECONDS = 300;

const NAME = /^[A-Za-z0-9][\w.-]{0,99}$/;
const NAME_MESSAGE = (field: string) => `${field} must be 1-100 letters, digits, ".", "-" or "_", starting with a letter or digit`;

/** A JSON object whose JSON text is at most MAX_ATTRIBUTES_BYTES. */
function IsBoundedJsonObject(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isBoundedJsonObject',
      validator: {
        validate: (value: unknown) =>
          typeof value === 'object' &&
          value !== null &&
          !Array.isArray(value) &&
          Buffer.byteLength(JSON.stringify(value)) <= MAX_ATTRIBUTES_BYTES,
        defaultMessage: () => `attributes must be a JSON object of at most ${MAX_ATTRIBUTES_BYTES} bytes`,
      },
    },
    options,
  );
}

export class CreatePoolDto {
  @ApiProperty({ example: 'scratch-orgs' })
  @Matches(NAME, { message: NAME_MESSAGE('name') })
  name!: string;

  @ApiProperty({ example: 'scratch-org', description: 'what the environments are: sandbox, scratch-org, database, ...' })
  @Matches(NAME, { message: NAME_MESSAGE('kind') })
  kind!: string;
}

export class CreateEnvironmentDto {
  @ApiProperty({ example: 'so-1', description: 'unique in the pool' })
  @Matches(NAME, { message: NAME_MESSAGE('name') })
  name!: string;

  @ApiPropertyOptional({
    example: { url: 'https://so-1.example.com' },
    description: `free-form, at most ${MAX_ATTRIBUTES_BYTES} bytes of JSON`,
  })
  @IsOptional()
  @IsBoundedJsonObject()
  attributes?: Record<string, unknown>;
}

export class UpdateEnvironmentDto {
  @ApiProperty({ example: { url: 'https://so-1.example.com' }, description: 'replaces the attributes' })
  @IsBoundedJsonObject()
  attributes!: Record<string, unknown>;
}

export class ExtendAllocationDto {
  @ApiProperty({ minimum: 1, maximum: MAX_LEASE_SECONDS, description: 'the lease then ends this long from now' })
  @IsInt()
  @Min(1)
  @Max(MAX_LEASE_SECONDS)
  ttlSeconds!: number;
}

export class AllocateDto extends ExtendAllocationDto {
  @ApiProperty({ example: 'ci-run-42', description: 'who holds the lease (free text, shown in history)' })
  @Matches(/^[\w.:@/-]{1,200}$/, { message: 'holder must be 1-200 letters, digits, ".", ":", "@", "/", "-" or "_"' })
  holder!: string;

  @ApiPropertyOptional({
    minimum: 0,
    maximum: MAX_WAIT_SECONDS,
    default: 0,
    description: 'wait (first come, first served) when none is free',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_WAIT_SECONDS)
  waitSeconds?: number;
}

/** Most environments one page of GET /v1/pools/:pool/environments holds. */
const MAX_ENVIRONMENT_PAGE = 500;
const DEFAULT_ENVIRONMENT_PAGE = 100;

export class ListEnvironmentsQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: MAX_ENVIRONMENT_PAGE, default: DEFAULT_ENVIRONMENT_PAGE })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_ENVIRONMENT_PAGE)
  limit: number = DEFAULT_ENVIRONMENT_PAGE;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @IsString()
  @Length(1, 500)
  cursor?: string;
}
