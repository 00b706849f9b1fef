import { Module } from '@nestjs/common';
import { DocumentsModule } from '#libs/documents';
import { DocumentsController } from './documents.controller.js';

/** The document store over HTTP. */
@Module({ imports: [DocumentsModule], controllers: [DocumentsController] })
export class DocumentsHttpModule {}
