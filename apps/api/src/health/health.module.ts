import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { RegistryModule } from '#libs/registry';
import { DependencyHealthIndicators } from './dependency-health.indicators.js';
import { HealthController } from './health.controller.js';

@Module({
  imports: [TerminusModule.forRoot({ logger: false }), RegistryModule],
  controllers: [HealthController],
  providers: [DependencyHealthIndicators],
})
export class HealthModule {}
