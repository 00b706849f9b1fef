import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsDate, IsIn, IsOptional, IsString, Length, MinDate } from 'class-validator';
import { ORG_ROLES, type OrgRole } from '#libs/auth';

export class CreateTokenDto {
  @ApiProperty({ example: 'ci-pipeline' })
  @IsString()
  @Length(1, 100)
  name!: string;

  @ApiProperty({ enum: ORG_ROLES })
  @IsIn(ORG_ROLES)
  role!: OrgRole;

  @ApiPropertyOptional({ description: 'ISO time after which the token stops working', example: '2027-01-01T00:00:00Z' })
  @IsOptional()
  @Type(() => Date)
  @IsDate({ message: 'expiresAt must be an ISO 8601 date-time' })
  @MinDate(() => new Date(), { message: 'expiresAt must be in the future' })
  expiresAt?: Date;
}

export class UpdateTokenDto {
  @ApiProperty({ enum: ORG_ROLES, description: "the token's new role; its live sockets close, its sessions go on with the new role" })
  @IsIn(ORG_ROLES)
  role!: OrgRole;
}
