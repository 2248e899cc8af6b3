import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import { STATUS_CODES } from 'node:http';
import type { LedgerConfig } from '@ledger/runtime';
import type { Logger as PinoLogger } from 'pino';
import { AppModule, LOGGER, type AppOptions } from './app.module';
import { API_KEY_HEADER } from './http/api-keys';
import { useIntakeBodyParsers } from './http/body';
import { correlationId, requestLog } from './http/request-log';
import { Metrics } from './metrics';

/**
 * Builds the HTTP application (NestJS on Fastify) from the validated configuration: structured logs
 * (pino: a line per request with its correlation id, Nest's own lines through nestjs-pino),
 * security headers (helmet), CORS only for LEDGER_CORS_ORIGINS, the intake's body parsers with a
 * limit per content type, HTTP metrics, and OpenAPI at /docs.
 */
export async function createApp(config: LedgerConfig, options: AppOptions = {}): Promise<NestFastifyApplication> {
  // Paths match as Express matched them (any case, a trailing slash or not; parameters keep their case); identifiers in
  // paths (a RequestID: up to 3 x 128 characters) are longer than Fastify's default limit of 100.
  // A path Fastify cannot decode (a bad %-escape) is answered in the errors' one shape.
  const adapter = new FastifyAdapter({
    genReqId: correlationId,
    routerOptions: { caseSensitive: false, ignoreTrailingSlash: true, maxParamLength: 512 },
    frameworkErrors: (err: FastifyError, _req: FastifyRequest, reply: FastifyReply) => void reply.code(err.statusCode ?? 400).send({ statusCode: err.statusCode ?? 400, error: STATUS_CODES[err.statusCode ?? 400], message: err.message }),
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, options), adapter, { bodyParser: false, bufferLogs: true, abortOnError: false });
  app.useLogger(app.get(Logger));
  const metrics = app.get(Metrics);
  const fastify = app.getHttpAdapter().getInstance();
  // First: each request's correlation id, its log line and its metrics, whatever answers it (a body refused by its parser too).
  const log = requestLog(app.get<PinoLogger>(LOGGER), (req, res, seconds) => {
    const labels = { method: req.raw.method!, route: req.routeOptions?.url ?? 'unmatched' };
    metrics.httpRequests.inc({ ...labels, status: String(res.statusCode) });
    metrics.httpSeconds.observe(labels, seconds);
  });
  const securityHeaders = helmet();
  fastify.addHook('onRequest', (req, reply, done) => {
    log(req, reply.raw);
    securityHeaders(req.raw, reply.raw, (err?: unknown) => done(err as Error | undefined));
  });
  if (config.corsOrigins.length > 0) app.enableCors({ origin: config.corsOrigins });
  useIntakeBodyParsers(fastify);
  app.enableShutdownHooks();
  const doc = new DocumentBuilder()
    .setTitle('SMETS1 certificate ledger')
    .setDescription('Certificates placed by proxy on SMETS1 meters, Registration Data, and every Service Request decision, as events.')
    .addApiKey({ type: 'apiKey', name: API_KEY_HEADER, in: 'header' }, 'api-key')
    .build();
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, doc));
  return app;
}
