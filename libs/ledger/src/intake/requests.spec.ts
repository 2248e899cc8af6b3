import * as classValidator from 'class-validator';
import { ServiceRequestDto } from './dto';
import { FLAT_FIELDS, flatRequest, serviceRequestFromJson } from './requests';
import { validated } from './validation';

/** The JSON service request without class-validator (flatRequest): it passes exactly what class-validator passes, with the same values. */

const BASE = { requestId: '90-B3-D5-1F-30-03-00-0A:00-DB-12-34-56-78-90-01:1', srv: '4.1.1' };
const FLAT_KEYS = ['requestId', 'srv', 'role', 'commandVariant', 'signingRoleCode', 'executionDateTime', 'remotePartyRole'];
const VALUES: unknown[] = ['x', '', null, 0, 1, -3, 1.5, true, {}, [], ['x'], '1'];

/** Every flat key with every value, over the base request, and each required key missing. */
const bodies: Array<Record<string, unknown>> = [
  BASE,
  ...FLAT_KEYS.flatMap((key) => VALUES.map((value) => ({ ...BASE, [key]: value }))),
  { srv: '4.1.1' },
  { requestId: BASE.requestId },
  { ...BASE, role: 'ES', commandVariant: 1, signingRoleCode: '03', executionDateTime: '2024-01-01T00:00:00Z', remotePartyRole: 'Supplier' },
];

const byValidator = async (body: unknown) => validated(ServiceRequestDto, body).then((dto) => ({ ...dto }), () => 'refused');

describe('a flat JSON service request, checked without class-validator', () => {
  it.each(bodies.map((body) => [JSON.stringify(body), body]))('%s: the same answer as class-validator', async (_, body) => {
    const flat = flatRequest(body);
    const expected = await byValidator(body);
    if (expected === 'refused') expect(flat).toBeUndefined();
    else expect(flat && { ...flat }).toEqual(Object.fromEntries(Object.entries(expected).filter(([, v]) => v !== undefined)));
  });

  it.each([
    { ...BASE, dateRange: { from: '2024-01-01T00:00:00Z', to: '2024-02-01T00:00:00Z' } },
    { ...BASE, remotePartyRoles: ['Supplier'] },
    { ...BASE, certificates: [] },
    { ...BASE, other: 'x' },
    Object.assign(Object.create(null), BASE),
    [BASE],
    'text',
    null,
  ])('%j goes to class-validator', (body) => {
    expect(flatRequest(body)).toBeUndefined();
  });

  it("checks what the DTO's decorators check on those fields, and no more: a rule added to the DTO fails here until flatRequest checks it too", () => {
    const rules = classValidator
      .getMetadataStorage()
      .getTargetValidationMetadatas(ServiceRequestDto, '', false, false)
      .filter((m) => Object.hasOwn(FLAT_FIELDS, m.propertyName))
      .map((m) => `${m.propertyName}: ${m.name}`);
    const optional = ['role', 'commandVariant', 'signingRoleCode', 'executionDateTime', 'remotePartyRole'];
    expect(rules.sort()).toEqual(
      ['requestId: isNotEmpty', 'requestId: isString', 'srv: isNotEmpty', 'srv: isString', 'commandVariant: isInt', ...['role', 'signingRoleCode', 'executionDateTime', 'remotePartyRole'].map((f) => `${f}: isString`), ...optional.map((f) => `${f}: isOptional`)].sort(),
    );
    expect(Object.keys(FLAT_FIELDS).sort()).toEqual(['requestId', 'srv', ...optional].sort());
  });

  it('the common request is judged-ready without class-validator; anything else still through it', async () => {
    const validate = jest.spyOn(classValidator, 'validate');
    try {
      const request = await serviceRequestFromJson({ ...BASE }, '2024-03-01T12:00:00.000Z');
      expect(request.srv.srv).toBe('4.1.1');
      expect(validate).not.toHaveBeenCalled();
      await expect(serviceRequestFromJson({ ...BASE, srv: '' }, '2024-03-01T12:00:00.000Z')).rejects.toMatchObject({ field: 'srv', reason: 'srv should not be empty' });
      expect(validate).toHaveBeenCalledTimes(1);
    } finally {
      validate.mockRestore();
    }
  });
});
