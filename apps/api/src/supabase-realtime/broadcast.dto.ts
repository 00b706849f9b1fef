import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsBoolean, IsObject, IsOptional, IsString, Length, ValidateNested } from 'class-validator';

/** Messages one REST broadcast may carry. */
export const BROADCAST_MESSAGES_MAX = 100;

export class BroadcastMessageDto {
  @ApiProperty({ description: 'The channel name (as given to supabase.channel(), without realtime:)' })
  @IsString()
  @Length(1, 200)
  topic!: string;

  @ApiProperty()
  @IsString()
  @Length(1, 255)
  event!: string;

  @ApiProperty({ type: Object })
  @IsObject()
  payload!: Record<string, unknown>;

  @ApiPropertyOptional()
  @IsOptional()
  @IsBoolean()
  private?: boolean;
}

export class BroadcastDto {
  @ApiProperty({ type: [BroadcastMessageDto] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(BROADCAST_MESSAGES_MAX)
  @ValidateNested({ each: true })
  @Type(() => BroadcastMessageDto)
  messages!: BroadcastMessageDto[];
}
