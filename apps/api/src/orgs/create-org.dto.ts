import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Length, Matches, ValidateIf } from 'class-validator';
import type { InstanceDriver } from '#libs/registry';

export class CreateOrgDto {
  @ApiProperty({ example: 'acme', description: '3-40 lowercase letters, digits and dashes; not starting or ending with a dash' })
  @Matches(/^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$/, {
    message: 'slug must be 3-40 lowercase letters, digits or dashes, not starting or ending with a dash',
  })
  slug!: string;

  @ApiProperty({ example: 'Acme Corp' })
  @IsString()
  @Length(1, 200)
  name!: string;

  @ApiPropertyOptional({ enum: ['cluster', 'external'], default: 'cluster' })
  @IsOptional()
  @IsIn(['cluster', 'external'])
  driver?: InstanceDriver;

  @ApiPropertyOptional({
    description: 'the database to adopt, with driver "external"',
    example: 'postgres://user:pass@db.example.com:5432/acme',
  })
  @ValidateIf((dto: CreateOrgDto) => dto.driver === 'external' || dto.url !== undefined)
  @Matches(/^postgres(ql)?:\/\/\S+$/, { message: 'url must be a postgres:// URL (required with driver "external")' })
  url?: string;
}
