import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { IntakeError } from './errors';

/** class-validator on a body that was not bound to a DTO type (the JSON branch of a two-format route). */
export async function validated<T extends object>(cls: new () => T, body: unknown): Promise<T> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new IntakeError('body', 'must be a JSON object');
  const dto = plainToInstance(cls, body);
  const problems = await validate(dto, { whitelist: true, forbidNonWhitelisted: true });
  if (problems.length) {
    const first = flatten(problems)[0];
    throw new IntakeError(first.field, first.reason);
  }
  return dto;
}

export function flatten(errors: Array<{ property: string; constraints?: Record<string, string>; children?: unknown[] }>, prefix = ''): Array<{ field: string; reason: string }> {
  return errors.flatMap((e) => {
    const field = prefix ? (/^\d+$/.test(e.property) ? `${prefix}[${e.property}]` : `${prefix}.${e.property}`) : e.property;
    // What a value is (isInt, isString, ...) before its bounds: a limit sent as "5" is not a whole number, rather than over a maximum.
    const own = Object.entries(e.constraints ?? {})
      .sort(([a], [b]) => Number(!a.startsWith('is')) - Number(!b.startsWith('is')))
      .map(([, reason]) => ({ field, reason }));
    return [...own, ...flatten((e.children ?? []) as never, field)];
  });
}
