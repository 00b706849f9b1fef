import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { Allow, IsInt, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';

const MAX_PAGE = 500;
const DEFAULT_PAGE = 100;

export class PutConfigDto {
  @ApiProperty({ description: 'any JSON value, up to CONFIG_VALUE_MAX_BYTES (64 KiB by default) of JSON', example: { replicas: 3 } })
  @Allow()
  value!: unknown;
}

export class ListConfigQuery {
  @ApiPropertyOptional({ description: 'only keys starting with this' })
  @IsOptional()
  @IsString()
  @Length(0, 200)
  @Matches(/^[A-Za-z0-9._:/-]*$/, { message: 'prefix must be letters, digits, ".", "_", ":", "/" or "-"' })
  prefix?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_PAGE, default: DEFAULT_PAGE })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE)
  limit: number = DEFAULT_PAGE;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @IsString()
  @Length(1, 400)
  cursor?: string;
}
