import { CanActivate, ExecutionContext, ForbiddenException, Injectable, SetMetadata, UnauthorizedException, Inject } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { timingSafeEqual } from 'node:crypto';

/**
 * Access by API key, sent in the `x-api-key` header. Each key maps to one role:
 * `intake` may write (submit requests, import Registration Data), `auditor` may read,
 * `admin` may do both and run administrative work (rebuild, verify).
 */
export type ApiRole = 'intake' | 'auditor' | 'admin';
export const API_ROLES: readonly ApiRole[] = ['intake', 'auditor', 'admin'];
export const API_KEY_HEADER = 'x-api-key';
export const API_KEYS = Symbol('API_KEYS');

/** The development keys `npm start` uses when LEDGER_API_KEYS is not set. Never use them in production. */
export const DEV_API_KEYS = 'dev-intake-key:intake,dev-auditor-key:auditor,dev-admin-key:admin';

/** Parses `key:role,key:role,...` (the LEDGER_API_KEYS format). */
export function parseApiKeys(spec: string): Map<string, ApiRole> {
  const keys = new Map<string, ApiRole>();
  for (const [i, entry] of spec.split(',').map((s) => s.trim()).filter(Boolean).entries()) {
    const sep = entry.lastIndexOf(':');
    const key = entry.slice(0, sep);
    const role = entry.slice(sep + 1) as ApiRole;
    if (sep <= 0 || !API_ROLES.includes(role)) {
      throw new Error(`LEDGER_API_KEYS entry ${i + 1} must be 'key:role' with role one of ${API_ROLES.join(', ')}`);
    }
    if (key.length < 8) throw new Error(`LEDGER_API_KEYS entry ${i + 1}: a key must be at least 8 characters`);
    const listed = keys.get(key);
    // The same key and role twice is harmless; one key for two roles would grant whichever came last, unnoticed.
    if (listed !== undefined && listed !== role) throw new Error(`LEDGER_API_KEYS entry ${i + 1}: its key is listed before with role ${listed}; give each key one role`);
    keys.set(key, role);
  }
  if (keys.size === 0) throw new Error('LEDGER_API_KEYS holds no key');
  return keys;
}

const ROLES_KEY = 'ledger:roles';
/** The roles allowed on a route; `admin` is always allowed. A route without it is public. */
export const Roles = (...roles: ApiRole[]) => SetMetadata(ROLES_KEY, roles);

@Injectable()
export class ApiKeyGuard implements CanActivate {
  /** The keys' bytes, made once rather than at each request. */
  private readonly keyBytes: Array<[Buffer, ApiRole]>;

  constructor(
    private readonly reflector: Reflector,
    @Inject(API_KEYS) keys: Map<string, ApiRole>,
  ) {
    this.keyBytes = [...keys].map(([key, role]) => [Buffer.from(key), role]);
  }

  canActivate(context: ExecutionContext): boolean {
    const roles = this.reflector.getAllAndOverride<ApiRole[] | undefined>(ROLES_KEY, [context.getHandler(), context.getClass()]);
    if (!roles) return true;
    const req = context.switchToHttp().getRequest<{ headers: Record<string, string | string[] | undefined>; apiRole?: ApiRole }>();
    const given = req.headers[API_KEY_HEADER];
    if (typeof given !== 'string' || given === '') throw new UnauthorizedException(`missing API key: send it in the '${API_KEY_HEADER}' header`);
    const role = this.lookup(given);
    if (!role) throw new UnauthorizedException('unknown API key');
    if (role !== 'admin' && !roles.includes(role)) {
      throw new ForbiddenException(`this API key's role '${role}' may not do this (needs ${roles.join(' or ')})`);
    }
    req.apiRole = role;
    return true;
  }

  private lookup(given: string): ApiRole | undefined {
    const g = Buffer.from(given);
    for (const [k, role] of this.keyBytes) if (k.length === g.length && timingSafeEqual(k, g)) return role;
    return undefined;
  }
}
