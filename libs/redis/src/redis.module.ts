import { Global, Module } from '@nestjs/common';
import { QueueFactory } from './queue-factory.js';
import { RedisConnection } from './redis-connection.js';
import { RedisKeys } from './redis-keys.js';

@Global()
@Module({ providers: [RedisConnection, RedisKeys, QueueFactory], exports: [RedisConnection, RedisKeys, QueueFactory] })
export class RedisModule {}
