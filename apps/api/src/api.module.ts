import { Module, type DynamicModule } from '@nestjs/common';
import { ConfigModule, type PlatformConfig } from '#libs/config';
import { DatabaseModule } from '#libs/database';
import { RedisModule } from '#libs/redis';
import { LoggerModule, type Logger } from '#libs/logging';
import { AuditHttpModule } from './audit/audit-http.module.js';
import { AuthHttpModule } from './auth/auth-http.module.js';
import { HealthModule } from './health/health.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { OrgsModule } from './orgs/orgs.module.js';
import { SchedulingHttpModule } from './schedules/scheduling-http.module.js';
import { ResourcesHttpModule } from './resources/resources-http.module.js';
import { SecretsHttpModule } from './secrets/secrets-http.module.js';
import { RealtimeGatewayModule } from './realtime/realtime-gateway.module.js';
import { SupabaseRealtimeModule } from './supabase-realtime/supabase-realtime.module.js';
import { TasksHttpModule } from './tasks/tasks-http.module.js';
import { TokensModule } from './tokens/tokens.module.js';
import { TriggersHttpModule } from './triggers/triggers-http.module.js';
import { ConfigHttpModule } from './org-config/config-http.module.js';
import { DocumentsHttpModule } from './documents/documents-http.module.js';

@Module({})
export class ApiModule {
  static forRoot(config: PlatformConfig, logger: Logger): DynamicModule {
    return {
      module: ApiModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot(logger),
        DatabaseModule,
        RedisModule,
        AuthHttpModule,
        HealthModule,
        MetricsModule,
        OrgsModule,
        TokensModule,
        TasksHttpModule,
        SchedulingHttpModule,
        TriggersHttpModule,
        ResourcesHttpModule,
        RealtimeGatewayModule,
        SupabaseRealtimeModule,
        SecretsHttpModule,
        AuditHttpModule,
        ConfigHttpModule,
        DocumentsHttpModule,
      ],
    };
  }
}
