import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsISO8601, IsInt, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';

const MAX_PAGE = 500;
const DEFAULT_PAGE = 100;

export class AuditQueryDto {
  @ApiPropertyOptional({ example: 'config.put' })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  action?: string;

  @ApiPropertyOptional({ description: "the acting token's id" })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  actorId?: string;

  @ApiPropertyOptional({ example: 'document' })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  targetType?: string;

  @ApiPropertyOptional({ description: 'only rows at or after this instant (ISO 8601)' })
  @IsOptional()
  @IsISO8601({ strict: true })
  after?: string;

  @ApiPropertyOptional({ description: 'only rows before this instant (ISO 8601)' })
  @IsOptional()
  @IsISO8601({ strict: true })
  before?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_PAGE, default: DEFAULT_PAGE })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE)
  limit: number = DEFAULT_PAGE;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @Matches(/^\d{1,19}$/, { message: 'cursor is not one this API gave out' })
  cursor?: string;
}
