import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { Equals, IsIn, IsOptional, IsString, IsUrl, Length, Matches, ValidateIf, ValidateNested } from 'class-validator';
import type { InstanceDriver } from '#libs/registry';

/** Take the org's row changes from a Supabase project's Realtime instead of a replication slot. */
export class SupabaseRealtimeDto {
  @ApiProperty({ enum: ['supabase'] })
  @Equals('supabase', { message: 'realtime.source must be "supabase"' })
  source!: 'supabase';

  @ApiProperty({ example: 'https://abcd.supabase.co' })
  @IsUrl({ protocols: ['http', 'https'], require_protocol: true, require_tld: false }, { message: 'realtime.url must be the project URL' })
  url!: string;

  @ApiProperty({ description: "a key that may read the org's tables (the service role key)" })
  @IsString()
  @Length(20, 2000)
  key!: string;
}

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

  @ApiPropertyOptional({ type: SupabaseRealtimeDto, description: "realtime changes from Supabase Realtime (default: the database's WAL)" })
  @IsOptional()
  @ValidateNested()
  @Type(() => SupabaseRealtimeDto)
  realtime?: SupabaseRealtimeDto;
}
