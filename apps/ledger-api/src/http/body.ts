import type { NestExpressApplication } from '@nestjs/platform-express';
import { BODY_LIMITS, bodyKind, checkXmlBody, decodeJson, decodeUtf8, decodeXml, IntakeError, parseJsonBody, type BodyKind } from '@ledger/ledger';

type Req = { headers: Record<string, string | string[] | undefined>; body?: unknown };
type Next = (err?: unknown) => void;
type Middleware = (req: Req, res: unknown, next: Next) => void;

// body-parser (the parsers Express 5 ships, as Nest's `useBodyParser` makes them; no bundled types): the part used here.
const { raw } = require('body-parser') as { raw(options: { type: () => boolean; limit: number }): Middleware };

/**
 * The API's body parsing: each accepted content type is read as raw bytes under its own limit
 * (BODY_LIMITS), then checked by the intake's body rules before any controller, DTO validator or
 * parser sees it: UTF-8 (400 naming the byte offset), JSON depth and prototype keys, XML
 * declarations and depth. A JSON body reaches the controllers parsed; XML and CSV as text. One
 * middleware that runs the parser of the body's content type and the checks in turn, rather than a
 * middleware each (every one Express passes a request through costs it a step of its router). The
 * query string is checked once a route is matched and the key checked (QueryParametersGuard).
 */
export function useIntakeBodyParsers(app: NestExpressApplication): void {
  const parsers = new Map((Object.keys(BODY_LIMITS) as BodyKind[]).map((kind) => [kind, raw({ type: () => true, limit: BODY_LIMITS[kind] })]));
  app.use((req: Req, res: unknown, next: Next) => {
    const kind = bodyKind(headerOf(req, 'content-type'));
    const checks = (err?: unknown) => (err ? next(err) : checkBody(req, kind, next));
    const parse = kind && parsers.get(kind);
    if (parse) parse(req, res, checks);
    else checks();
  });
}

function headerOf(req: Req, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function checkBody(req: Req, kind: BodyKind | undefined, next: Next): void {
  if (!Buffer.isBuffer(req.body)) return next();
  if (req.body.length === 0) {
    // No body: JSON as if none had been sent; an empty file or XML document, as the empty text it is.
    req.body = kind === 'json' ? undefined : '';
    return next();
  }
  try {
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(headerOf(req, 'content-type') ?? '')?.[1];
    if (kind === 'xml') {
      // Read in the encoding its bytes are in, as its declaration and the charset must agree (decodeXml).
      const text = decodeXml(req.body, charset);
      checkXmlBody(text);
      req.body = text;
      return next();
    }
    // JSON and CSV are read as UTF-8: a body declared in another charset would be read otherwise than it was written.
    if (charset && !/^(utf-?8|us-ascii|ascii)$/i.test(charset)) throw new IntakeError('content-type', `charset '${charset}' is not accepted: send UTF-8 (or ASCII)`);
    req.body = kind === 'json' ? parseJsonBody(decodeJson(req.body)) : decodeUtf8(req.body);
    next();
  } catch (err) {
    next(err);
  }
}
