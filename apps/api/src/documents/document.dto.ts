import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { Allow, IsInt, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';

const MAX_PAGE = 500;
const DEFAULT_PAGE = 50;

export class CreateDocumentDto {
  @ApiPropertyOptional({ description: 'letters, digits, ".", "_", ":" or "-" (1 to 200); a new UUID when absent' })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9._:-]{1,200}$/, { message: 'id must be 1 to 200 letters, digits, ".", "_", ":" or "-"' })
  id?: string;

  @ApiProperty({
    description: 'a JSON object, up to DOCUMENT_MAX_BYTES (256 KiB by default) of JSON',
    example: { env: 'prod', version: '1.4.2' },
  })
  @Allow()
  data!: unknown;
}

export class WriteDocumentDto {
  @ApiProperty({ description: 'PUT: the new data (a JSON object); PATCH: a JSON merge patch (RFC 7386) of it' })
  @Allow()
  data!: unknown;
}

export class ListDocumentsQuery {
  @ApiPropertyOptional({ description: 'a JSON object the data must contain (jsonb containment), URL-encoded', example: '{"env":"prod"}' })
  @IsOptional()
  @IsString()
  @Length(1, 4000)
  match?: string;

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
  @Length(1, 40)
  cursor?: string;
}
