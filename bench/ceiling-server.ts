import 'reflect-metadata';
import { Body, Controller, HttpCode, Inject, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { SqliteEventStore, type SqliteWriterMode } from '@ledger/event-store';
import * as http from 'node:http';
import { appendDecisionShaped, decisionShape } from './ceiling';

/**
 * The HTTP case's ceilings (bench/http.ts): `ceiling-server.js nest|nest-fastify|node`, on the store
 * LEDGER_SQLITE_PATH with the writer LEDGER_SQLITE_WRITER, listening on PORT of 127.0.0.1.
 * `POST /service-requests` takes the API's JSON body and does one durable append of a
 * decision-shaped event (bench/ceiling.ts), then answers 200 with the RequestID and the position:
 * no validation, no logging, no projection, no stream read. `nest` is a NestJS app on Express
 * (the API's versions, its default body parser, logger off); `nest-fastify` the same app on
 * Fastify (@nestjs/platform-fastify, a dev dependency: the API itself runs on Express); `node` a
 * bare node:http server.
 */
type Append = (requestId: unknown) => Promise<{ requestId: unknown; position: string }>;
const APPEND = 'append';

@Controller()
class CeilingController {
  constructor(@Inject(APPEND) private readonly append: Append) {}

  @Post('service-requests')
  @HttpCode(200)
  post(@Body() body: { requestId?: unknown }) {
    return this.append(body.requestId);
  }
}

async function main(): Promise<void> {
  const [kind] = process.argv.slice(2);
  const port = Number(process.env.PORT);
  const store = new SqliteEventStore(process.env.LEDGER_SQLITE_PATH!, { writer: process.env.LEDGER_SQLITE_WRITER as SqliteWriterMode });
  const shape = await decisionShape(store);
  const append: Append = async (requestId) => ({ requestId, position: (await appendDecisionShaped(store, shape)).position.toString() });
  if (kind === 'nest') {
    @Module({ controllers: [CeilingController], providers: [{ provide: APPEND, useValue: append }] })
    class CeilingModule {}
    const app = await NestFactory.create(CeilingModule, { logger: false });
    await app.listen(port, '127.0.0.1');
  } else if (kind === 'nest-fastify') {
    @Module({ controllers: [CeilingController], providers: [{ provide: APPEND, useValue: append }] })
    class CeilingModule {}
    const app = await NestFactory.create<NestFastifyApplication>(CeilingModule, new FastifyAdapter(), { logger: false });
    await app.listen(port, '127.0.0.1');
  } else if (kind === 'node') {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const answer = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        if (req.method !== 'POST' || req.url !== '/service-requests') return answer(404, { error: 'not found' });
        append((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { requestId?: unknown }).requestId).then(
          (r) => answer(200, r),
          (err: unknown) => answer(500, { error: String(err) }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  } else throw new Error(`ceiling-server: 'nest', 'nest-fastify' or 'node', not '${kind}'`);
  process.stdout.write(`ceiling (${kind}) listening on http://127.0.0.1:${port}\n`);
  process.on('SIGTERM', () => void store.dispose().then(() => process.exit(0)));
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
