import { Global, Module } from '@nestjs/common';
import { RedisConnection } from './redis-connection.js';
import { RedisKeys } from './redis-keys.js';

@Global()
@Module({ providers: [RedisConnection, RedisKeys], exports: [RedisConnection, RedisKeys] })
export class RedisModule {}
