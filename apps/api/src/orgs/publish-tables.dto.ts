import { ApiProperty } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, Matches, ValidateIf } from 'class-validator';

/** Which of the org's tables its realtime publication holds. */
export class PublishTablesDto {
  @ApiProperty({
    type: [String],
    nullable: true,
    example: ['orders', 'customers'],
    description: 'tables of schema public to publish; null publishes every table of public, also those made later; [] publishes none',
  })
  @ValidateIf((dto: PublishTablesDto) => dto.tables !== null)
  @IsArray({ message: 'tables must be a list of table names, or null for every table of public' })
  @ArrayMaxSize(1000, { message: 'tables may name at most 1000 tables' })
  @Matches(/^[A-Za-z_][A-Za-z0-9_$]{0,62}$/, { each: true, message: 'each table must be a plain table name of schema public' })
  tables!: string[] | null;
}
