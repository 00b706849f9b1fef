import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';
import { SECRET_VALUE_MAX_BYTES } from '#libs/secrets';

export class PutSecretDto {
  @ApiProperty({ description: `the value, at most ${SECRET_VALUE_MAX_BYTES} bytes; stored encrypted and never shown again` })
  @IsString()
  @MaxLength(SECRET_VALUE_MAX_BYTES)
  value!: string;
}
