import { Module } from '@nestjs/common';
import { RegistryModule } from '#libs/registry';
import { OrgInstanceProcessor } from './org-instance.processor.js';
import { OrgInstanceReconciler } from './org-instance.reconciler.js';

@Module({ imports: [RegistryModule], providers: [OrgInstanceProcessor, OrgInstanceReconciler] })
export class OrgsWorkerModule {}
