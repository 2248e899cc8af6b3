import { CanActivate, ExecutionContext, ForbiddenException, Injectable, SetMetadata, UnauthorizedException, Inject } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { timingSafeEqual } from 'node:crypto';
import type { ApiKeyHolder, ApiRole } from '@ledger/runtime';

/**
 * Access by API key, sent in the `x-api-key` header; the keys, their roles and who each is recorded
 * as are parsed from LEDGER_API_KEYS in @ledger/runtime (api-keys.ts).
 */
export { apiKeyId, DEV_API_KEYS, parseApiKeys, type ApiRole } from '@ledger/runtime';
export const API_KEY_HEADER = 'x-api-key';
export const API_KEYS = Symbol('API_KEYS');

/** The actor a request's key is recorded as (`api:unknown` on a route without a role, which none that records has). */
export const actorOf = (req: { apiActor?: string }): string => req.apiActor ?? 'api:unknown';

const ROLES_KEY = 'ledger:roles';
/** The roles allowed on a route; `admin` is always allowed. A route without it is public. */
export const Roles = (...roles: ApiRole[]) => SetMetadata(ROLES_KEY, roles);

@Injectable()
export class ApiKeyGuard implements CanActivate {
  /** The keys' bytes, made once rather than at each request. */
  private readonly keyBytes: Array<[Buffer, ApiKeyHolder]>;

  constructor(
    private readonly reflector: Reflector,
    @Inject(API_KEYS) keys: Map<string, ApiKeyHolder>,
  ) {
    this.keyBytes = [...keys].map(([key, holder]) => [Buffer.from(key), holder]);
  }

  canActivate(context: ExecutionContext): boolean {
    const roles = this.reflector.getAllAndOverride<ApiRole[] | undefined>(ROLES_KEY, [context.getHandler(), context.getClass()]);
    if (!roles) return true;
    const req = context.switchToHttp().getRequest<{ headers: Record<string, string | string[] | undefined>; apiRole?: ApiRole; apiActor?: string }>();
    const given = req.headers[API_KEY_HEADER];
    if (typeof given !== 'string' || given === '') throw new UnauthorizedException(`missing API key: send it in the '${API_KEY_HEADER}' header`);
    const holder = this.lookup(given);
    if (!holder) throw new UnauthorizedException('unknown API key');
    // Who it is goes into the request's log line, refused or not.
    req.apiActor = holder.actor;
    if (holder.role !== 'admin' && !roles.includes(holder.role)) {
      throw new ForbiddenException(`this API key's role '${holder.role}' may not do this (needs ${roles.join(' or ')})`);
    }
    req.apiRole = holder.role;
    return true;
  }

  private lookup(given: string): ApiKeyHolder | undefined {
    const g = Buffer.from(given);
    for (const [k, holder] of this.keyBytes) if (k.length === g.length && timingSafeEqual(k, g)) return holder;
    return undefined;
  }
}
