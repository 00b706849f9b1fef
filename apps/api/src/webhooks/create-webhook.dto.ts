import { ApiProperty } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsString, IsUrl, Length } from 'class-validator';
import { WEBHOOK_EVENTS, type WebhookEvent } from '#libs/webhooks';

export class CreateWebhookDto {
  @ApiProperty({ example: 'https://ci.example.com/hooks/platform' })
  @IsUrl({ protocols: ['http', 'https'], require_protocol: true, require_tld: false }, { message: 'url must be an http(s) URL' })
  @Length(1, 2000)
  url!: string;

  @ApiProperty({ enum: WEBHOOK_EVENTS, isArray: true })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(WEBHOOK_EVENTS.length)
  @IsIn(WEBHOOK_EVENTS, { each: true })
  events!: WebhookEvent[];

  @ApiProperty({ description: 'signs each delivery (HMAC-SHA256); 16 to 200 characters' })
  @IsString()
  @Length(16, 200)
  secret!: string;
}
