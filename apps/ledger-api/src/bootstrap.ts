import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import type { LedgerConfig } from '@ledger/runtime';
import type { Logger as PinoLogger } from 'pino';
import { AppModule, LOGGER, type AppOptions } from './app.module';
import { API_KEY_HEADER } from './http/api-keys';
import { HttpDrain } from './http/drain';
import { useIntakeBodyParsers } from './http/body';
import { requestLog, type LoggedRequest } from './http/request-log';
import { Metrics } from './metrics';

/**
 * Builds the HTTP application from the validated configuration: structured logs (pino: a line per
 * request with its correlation id, Nest's own lines through nestjs-pino), security headers
 * (helmet), CORS only for LEDGER_CORS_ORIGINS, the intake's body parsers with a limit per content
 * type, HTTP metrics, and OpenAPI at /docs.
 */
export async function createApp(config: LedgerConfig, options: AppOptions = {}): Promise<NestExpressApplication> {
  // Nest's own lines are held (bufferLogs, autoFlushLogs off) until the caller flushes them through
  // pino, once the application has started (main.ts's serve, after listen): a start that fails, while
  // the application is built or after (a port taken, a start hook that throws), writes none of them
  // unless LEDGER_LOG_LEVEL is debug or trace; the caller says what went wrong in one line.
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, options), { bodyParser: false, bufferLogs: true, autoFlushLogs: false, abortOnError: false });
  app.useLogger(app.get(Logger));
  // Two Express defaults that cost every response and serve none of this API's: an ETag (a SHA-1
  // of each reply's body, POSTs' included), and an X-Powered-By header that helmet removes again.
  app.set('etag', false);
  app.disable('x-powered-by');
  const metrics = app.get(Metrics);
  // First: each request's correlation id, its log line and its metrics, whatever answers it (a body refused by its parser too).
  app.use(
    requestLog(app.get<PinoLogger>(LOGGER), (req: LoggedRequest & { route?: { path?: string } }, res, seconds) => {
      const labels = { method: req.method!, route: req.route?.path ?? 'unmatched' };
      metrics.httpRequests.inc({ ...labels, status: String(res.statusCode) });
      metrics.httpSeconds.observe(labels, seconds);
    }),
  );
  // Second: at shutdown, a request that arrives on a kept-alive connection is answered 503 here, and those in flight are counted until answered (HttpDrain).
  app.use(app.get(HttpDrain).middleware);
  app.use(helmet());
  if (config.corsOrigins.length > 0) app.enableCors({ origin: config.corsOrigins });
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
