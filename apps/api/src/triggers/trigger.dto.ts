import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsDefined,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { TRIGGER_EVENTS, type TriggerEvent } from '#libs/triggers';
import { ScheduledTaskDto } from '../schedules/create-schedule.dto.js';

const MAX_RUNS = 500;

export class CreateTriggerDto {
  @ApiProperty({ example: 'build on new release' })
  @IsString()
  @Length(1, 200)
  name!: string;

  @ApiProperty({ example: 'config_entries', description: 'a published table of the org database (schema public)' })
  @Matches(/^[a-z_][a-z0-9_]{0,62}$/, { message: 'table must be a lowercase table name' })
  table!: string;

  @ApiProperty({ enum: TRIGGER_EVENTS, isArray: true })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(TRIGGER_EVENTS.length)
  @IsIn(TRIGGER_EVENTS, { each: true })
  events!: TriggerEvent[];

  @ApiPropertyOptional({ example: { status: 'released' }, description: 'column values the changed row must have' })
  @IsOptional()
  @IsObject()
  filter?: Record<string, unknown>;

  @ApiProperty({ type: ScheduledTaskDto, description: 'the task to create for each matching change' })
  @IsDefined()
  @ValidateNested()
  @Type(() => ScheduledTaskDto)
  task!: ScheduledTaskDto;
}

export class UpdateTriggerDto {
  @ApiProperty()
  @IsBoolean()
  enabled!: boolean;
}

export class TriggerRunsQuery {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_RUNS)
  limit: number = 100;
}
