import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import type { LedgerConfig } from '@ledger/runtime';
import { AppModule, type AppOptions } from './app.module';
import { API_KEY_HEADER } from './http/api-keys';
import { useIntakeBodyParsers } from './http/body';
import { Metrics } from './metrics';

type Req = { method: string; route?: { path?: string } };
type Res = { statusCode: number; on(event: 'finish', f: () => void): void };

/**
 * Builds the HTTP application from the validated configuration: structured logs (nestjs-pino),
 * security headers (helmet), CORS only for LEDGER_CORS_ORIGINS, the intake's body parsers with a
 * limit per content type, HTTP metrics, and OpenAPI at /docs.
 */
export async function createApp(config: LedgerConfig, options: AppOptions = {}): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, options), { bodyParser: false, bufferLogs: true, abortOnError: false });
  app.useLogger(app.get(Logger));
  app.use(helmet());
  if (config.corsOrigins.length > 0) app.enableCors({ origin: config.corsOrigins });
  const metrics = app.get(Metrics);
  app.use((req: Req, res: Res, next: () => void) => {
    const end = metrics.httpSeconds.startTimer();
    res.on('finish', () => {
      const route = req.route?.path ?? 'unmatched';
      metrics.httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
      end({ method: req.method, route });
    });
    next();
  });
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
