import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { EventStore } from '@ledger/event-store';
import { AppModule } from './app.module';
import type { LedgerConfig } from './config';
import { API_KEY_HEADER } from './http/api-keys';
import { useIntakeBodyParsers } from './http/body';

/** Builds the HTTP application on a store: body parsers for JSON, DUIS XML and CSV, and OpenAPI at /docs. */
export async function createApp(store: EventStore, config: Pick<LedgerConfig, 'readModelPath' | 'ruleSet' | 'apiKeys'>, logger = true): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forStore(store, config), { logger: logger ? undefined : false, bodyParser: false });
  useIntakeBodyParsers(app);
  app.enableShutdownHooks();
  const doc = new DocumentBuilder()
    .setTitle('SMETS1 certificate ledger')
    .setDescription('Certificates placed by proxy on SMETS1 meters, Registration Data, and every Service Request decision, as events.')
    .addApiKey({ type: 'apiKey', name: API_KEY_HEADER, in: 'header' }, 'api-key')
    .build();
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, doc));
  return app;
}
