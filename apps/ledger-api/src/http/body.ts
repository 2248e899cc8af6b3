import { PayloadTooLargeException } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { BODY_LIMITS, bodyKind, checkXmlBody, decodeUtf8, parseJsonBody, type BodyKind } from '@ledger/ledger';

/**
 * The API's body parsing: each accepted content type is read as raw bytes under its own limit
 * (BODY_LIMITS), then checked by the intake's body rules before any controller, DTO validator or
 * parser sees it: UTF-8 (400 naming the byte offset), JSON depth and prototype keys, XML
 * declarations and depth. A JSON body reaches the controllers parsed; XML and CSV as text. A body of
 * any other content type is not read (the controllers refuse it, naming `content-type`).
 */
export function useIntakeBodyParsers(fastify: FastifyInstance): void {
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', async (req: { headers: IncomingMessage['headers'] }, payload: IncomingMessage) => {
    const kind = bodyKind(req.headers['content-type']);
    return kind ? checkBody(kind, await readBody(payload, BODY_LIMITS[kind])) : undefined;
  });
}

/** The body's bytes, refused with a 413 as soon as it is known to be over `limit` (by its content-length, else as it arrives). */
function readBody(stream: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = stream.headers['content-length'] === undefined ? undefined : Number(stream.headers['content-length']);
  if (declared !== undefined && declared > limit) return Promise.reject(tooLarge(declared, limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (err?: Error) => {
      stream.off('data', onData).off('end', onEnd).off('error', done);
      if (err) {
        stream.pause(); // the rest is left unread (Node discards it once the refusal is sent)
        reject(err);
      } else resolve(Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) done(tooLarge(declared, limit));
      else chunks.push(chunk);
    };
    const onEnd = () => done();
    stream.on('data', onData).on('end', onEnd).on('error', done);
  });
}

const tooLarge = (length: number | undefined, limit: number) =>
  new PayloadTooLargeException({ statusCode: 413, error: 'Payload Too Large', message: `body: ${length ?? 'more than'} bytes, over the ${limit}-byte limit for this content type`, field: 'body' });

function checkBody(kind: BodyKind, bytes: Buffer): unknown {
  // No body: JSON as if none had been sent; an empty file or XML document, as the empty text it is.
  if (bytes.length === 0) return kind === 'json' ? undefined : '';
  const text = decodeUtf8(bytes);
  if (kind === 'json') return parseJsonBody(text);
  if (kind === 'xml') checkXmlBody(text);
  return text;
}
