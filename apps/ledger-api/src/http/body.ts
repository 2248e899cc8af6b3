import type { NestExpressApplication } from '@nestjs/platform-express';
import { DomainError } from '@ledger/domain';
import { BODY_LIMITS, bodyKind, checkXmlBody, decodeUtf8, IntakeError, parseJsonBody, type BodyKind } from '@ledger/ledger';

type Req = { headers: Record<string, string | string[] | undefined>; body?: unknown; query?: Record<string, unknown> };

/**
 * The API's body parsing: each accepted content type is read as raw bytes under its own limit
 * (BODY_LIMITS), then checked by the intake's body rules before any controller, DTO validator or
 * parser sees it: UTF-8 (400 naming the byte offset), JSON depth and prototype keys, XML
 * declarations and depth. A JSON body reaches the controllers parsed; XML and CSV as text.
 */
export function useIntakeBodyParsers(app: NestExpressApplication): void {
  for (const kind of Object.keys(BODY_LIMITS) as BodyKind[]) {
    app.useBodyParser('raw', { type: (req: Req) => bodyKind(headerOf(req, 'content-type')) === kind, limit: BODY_LIMITS[kind] });
  }
  app.use(checkBody);
  app.use(checkQuery);
}

/**
 * A query parameter given twice (`?code=E4&code=I0`) is refused, naming it: Express makes an array
 * of it, which no route takes (each reads one value), and which reached SQLite as it was (a 500).
 */
function checkQuery(req: Req, _res: unknown, next: (err?: unknown) => void): void {
  for (const [key, value] of Object.entries(req.query ?? {})) if (Array.isArray(value)) return next(new DomainError(key, 'is given more than once in the query string; give it once'));
  next();
}

function headerOf(req: Req, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function checkBody(req: Req, _res: unknown, next: (err?: unknown) => void): void {
  if (!Buffer.isBuffer(req.body)) return next();
  if (req.body.length === 0) {
    // No body: JSON as if none had been sent; an empty file or XML document, as the empty text it is.
    req.body = bodyKind(headerOf(req, 'content-type')) === 'json' ? undefined : '';
    return next();
  }
  try {
    const contentType = headerOf(req, 'content-type');
    const kind = bodyKind(contentType)!;
    // The bytes are read as UTF-8: a body declared in another charset would be read otherwise than it was written.
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? '')?.[1];
    if (charset && !/^(utf-?8|us-ascii|ascii)$/i.test(charset)) throw new IntakeError('content-type', `charset '${charset}' is not accepted: send UTF-8 (or ASCII)`);
    const text = decodeUtf8(req.body);
    if (kind === 'json') req.body = parseJsonBody(text);
    else {
      if (kind === 'xml') checkXmlBody(text);
      req.body = text;
    }
    next();
  } catch (err) {
    next(err);
  }
}
