import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { DECORATORS } from '@nestjs/swagger';
import { DomainError } from '@ledger/domain';

/**
 * The query parameters a route takes, from its own metadata: the names of its `@Query('name')`
 * parameters, and of its `@ApiQuery`s (a route that reads the query whole, `@Query() q`, lists
 * what it reads so; OpenAPI shows the same list), in alphabetical order.
 */
function queryParametersOf(controller: object, handler: Function): string[] {
  const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, handler.name) ?? {}) as Record<string, { data?: unknown }>;
  const read = Object.entries(args)
    .filter(([key, arg]) => key.startsWith(`${RouteParamtypes.QUERY}:`) && typeof arg.data === 'string')
    .map(([, arg]) => arg.data as string);
  const documented = ((Reflect.getMetadata(DECORATORS.API_PARAMETERS, handler) ?? []) as Array<{ in?: string; name?: string }>).filter((p) => p.in === 'query' && typeof p.name === 'string').map((p) => p.name as string);
  return [...new Set([...read, ...documented])].sort();
}

/**
 * Every route of the API's controllers refuses a query parameter it does not take with a 400 naming
 * it and those the route takes (or that it takes none), one given more than once
 * (`?code=E4&code=I0`: Express makes an array of it, which no route takes, each reading one value;
 * until 2026-11-27 it reached SQLite as it was, a 500), and one given empty (`?asOf=`: until
 * 2026-11-28, eighteenth session, read as if it were left out, so a client that built `asOf=${x}`
 * with x empty was answered the device as it is now, read as the past). Until 2026-11-28 a parameter not taken was
 * ignored: `GET /devices/X?asof=...`, for `asOf`, answered the device as it is now, read as if it
 * were as of the instant asked; and a repeated one was refused by a middleware before the key and
 * before a route was matched (no key, or no such route, was a 400 for it). Run after the API-key
 * guard (a caller without a key learns nothing of a route's parameters). Reads `req.query` once
 * (Express 5 parses the query string again at each read); what a route takes is read once, at its
 * first request. Swagger's /docs and /docs-json are plain Express routes, not guarded.
 */
@Injectable()
export class QueryParametersGuard implements CanActivate {
  private readonly taken = new Map<unknown, { names: ReadonlySet<string>; list: string }>();

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<{ query?: Record<string, unknown>; method?: string; route?: { path?: string } }>();
    const query = req.query;
    if (!query) return true;
    const entries = Object.entries(query);
    if (entries.length === 0) return true;
    const route = this.route(context);
    for (const [name, value] of entries) {
      if (!route.names.has(name)) throw refusal(name, `is not a query parameter of ${req.method} ${req.route?.path ?? 'this route'}, which takes ${route.list}`);
      if (Array.isArray(value)) throw refusal(name, 'is given more than once in the query string; give it once');
      if (value === '') throw refusal(name, 'is empty: give it a value, or leave it out');
    }
    return true;
  }

  private route(context: ExecutionContext): { names: ReadonlySet<string>; list: string } {
    const handler = context.getHandler();
    let route = this.taken.get(handler);
    if (!route) {
      const names = queryParametersOf(context.getClass(), handler);
      route = { names: new Set(names), list: names.length === 0 ? 'none' : names.join(', ') };
      this.taken.set(handler, route);
    }
    return route;
  }
}

/** A 400 naming the parameter (`asof: is not ...`); one with no name (`?=1`) is said in words, `field` being ''. */
function refusal(name: string, reason: string): DomainError {
  const err = new DomainError(name, reason);
  if (name === '') err.message = `an empty query parameter name (as in '?=1') ${reason}`;
  return err;
}
