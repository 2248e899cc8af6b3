import { fuelOf, parseCertificateIdentity } from './catalogue';
import { DomainError, parseDistributorId, parseInstant, parseInventoryMpxn, parseMpan, parseMprn, parseMpxn, parseRemotePartyRole, parseUserRole } from './identifiers';
import { parseServiceRequest } from './request';
import type { LedgerEvent } from './events';
import { getRuleSet } from './rule-sets';
import { evolveDevice, evolveMeterPoint, evolveUser, type DeviceState } from './state';
import { proxyDisagreements, repairOptions } from './stuck';
import { cert, given, ids, inventory, mpan, mprn, placed, registration, request, userRole, when } from './testing/scenario';

/** More edges: inputs of the wrong type, anchors of each pattern, folds given other events, and rule-set limits. */

const { supplierA, supplierB, noA, noB, esme, esme2, gpf } = ids;
const T2019 = '2019-01-01T00:00:00.000Z';
const outcome = (f: () => unknown): string => {
  try {
    return `ok ${String(f())}`;
  } catch (e) {
    return e instanceof DomainError ? `refused ${e.field}` : `crashed ${(e as Error).name}`;
  }
};

describe('every parser refuses, naming the field, what is not a string or not wholly its pattern', () => {
  it.each`
    case                                   | f                                                   | result
    ${'an MPAN as a number'}               | ${() => parseMpan(1412345678901)}                  | ${'refused mpan'}
    ${'an MPAN with a letter before'}      | ${() => parseMpan('A1412345678901')}               | ${'refused mpan'}
    ${'an MPAN of 14 digits'}              | ${() => parseMpan('14123456789012')}               | ${'refused mpan'}
    ${'an MPAN with spaces around'}        | ${() => parseMpan(' 1412345678901 ')}              | ${'ok 1412345678901'}
    ${'an MPRN as a number'}               | ${() => parseMprn(123456)}                         | ${'refused mprn'}
    ${'an MPRN with spaces around'}        | ${() => parseMprn(' 123456 ')}                     | ${'ok 123456'}
    ${'an MPRN with a letter after'}       | ${() => parseMprn('123456x')}                      | ${'refused mprn'}
    ${'an MPxN as a number'}               | ${() => parseMpxn(1234567)}                        | ${'refused mpxn'}
    ${'an inventory MPxN as a number'}     | ${() => parseInventoryMpxn(1412345678901)}         | ${'refused mpxn'}
    ${'an inventory MPAN with spaces'}     | ${() => parseInventoryMpxn(' 1412345678902 ')}     | ${'ok 1412345678902'}
    ${'a distributor id as a number'}      | ${() => parseDistributorId(14)}                    | ${'refused distributorId'}
    ${'a distributor id with spaces'}      | ${() => parseDistributorId(' 14 ')}                | ${'ok [object Object]'}
    ${'a User Role as a number'}           | ${() => parseUserRole(1)}                          | ${'refused role'}
    ${'a RemotePartyRole as a number'}     | ${() => parseRemotePartyRole(1)}                   | ${'refused remotePartyRole'}
    ${'an instant with text before'}       | ${() => parseInstant('x2024-05-01T00:00:00Z', 'at')} | ${'refused at'}
    ${'an instant with text after'}        | ${() => parseInstant('2024-05-01T00:00:00Zx', 'at')} | ${'refused at'}
    ${'a date with text before'}           | ${() => parseInstant('x2024-05-01', 'at')}         | ${'refused at'}
    ${'an instant as recorded'}            | ${() => parseInstant('2024-05-01T00:00:00.000Z', 'at')} | ${'ok 2024-05-01T00:00:00.000Z'}
    ${'an instant as recorded, spaced'}    | ${() => parseInstant(' 2024-05-01T00:00:00.000Z ', 'at')} | ${'ok 2024-05-01T00:00:00.000Z'}
    ${'an instant as recorded, text after'} | ${() => parseInstant('2024-05-01T00:00:00.000Zx', 'at')} | ${'refused at'}
    ${'an instant as recorded, no month 13'} | ${() => parseInstant('2024-13-01T00:00:00.000Z', 'at')} | ${'refused at'}
    ${'an instant as recorded, no 30 February'} | ${() => parseInstant('2024-02-30T00:00:00.000Z', 'at')} | ${'refused at'}
    ${'an instant as recorded, no 24:00'}  | ${() => parseInstant('2024-05-01T24:00:00.000Z', 'at')} | ${'refused at'}
    ${'a signing role code of 3 digits'}   | ${() => parseServiceRequest({ requestId: '90-B3-D5-1F-30-03-00-0A:00-DB-12-34-56-78-90-01:1', srv: '4.1.1', signingRoleCode: '003', receivedAt: T2019, format: 'json' })} | ${'refused signingRoleCode'}
    ${'a signing role code as a number'}   | ${() => parseServiceRequest({ requestId: '90-B3-D5-1F-30-03-00-0A:00-DB-12-34-56-78-90-01:1', srv: '4.1.1', signingRoleCode: 33, receivedAt: T2019, format: 'json' })} | ${'refused signingRoleCode'}
  `('$case: $result', ({ f, result }) => {
    expect(outcome(f)).toBe(result);
  });

  it('an instant in the form recorded is taken as it is when it names a real time (a Date gives it back unchanged), and refused otherwise: every day 0-32 of months 0-13, leap years and not, the ends of the clock', () => {
    const real = (v: string) => !Number.isNaN(Date.parse(v)) && new Date(Date.parse(v)).toISOString() === v;
    const pad = (n: number, width: number) => String(n).padStart(width, '0');
    let compared = 0;
    let accepted = 0;
    for (const year of [0, 4, 1900, 1999, 2000, 2023, 2024, 2100, 2400, 9999]) {
      for (let month = 0; month <= 13; month++) {
        for (let day = 0; day <= 32; day++) {
          for (const time of ['00:00:00.000', '23:59:59.999', '24:00:00.000', '23:60:00.000', '23:59:60.000']) {
            const v = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${time}Z`;
            expect([v, outcome(() => parseInstant(v, 'at'))]).toEqual([v, real(v) ? `ok ${v}` : 'refused at']);
            compared++;
            if (real(v)) accepted++;
          }
        }
      }
    }
    expect(accepted).toBe(10 * 2 * 365 + 5 * 2); // two times a day of each year, and 29 February of 0, 4, 2000, 2024 and 2400
    expect(compared).toBe(10 * 14 * 33 * 5);
  });

  const identity = (over: Record<string, unknown>) => () => parseCertificateIdentity({ serial: 'A1', issuer: 'CN=CA', ownerUserId: noA, roleCode: '03', keyUsage: 'keyAgreement', ...over }, 'c').serial;
  it.each`
    case                            | f                                 | result
    ${'a serial as a number'}       | ${identity({ serial: 123 })}      | ${'refused c.serial'}
    ${'a serial ending in non-hex'} | ${identity({ serial: 'A1G' })}    | ${'refused c.serial'}
    ${'an issuer as a number'}      | ${identity({ issuer: 7 })}        | ${'refused c.issuer'}
    ${'a role code as a number'}    | ${identity({ roleCode: 3 })}      | ${'refused c.roleCode'}
    ${'a zero inside a serial'}     | ${identity({ serial: '10a' })}    | ${'ok 10A'}
  `('a certificate identity with $case: $result', ({ f, result }) => {
    expect(outcome(f)).toBe(result);
  });

  it('the fuel of each device type', () => {
    expect(['ESME', 'GSME', 'GPF', 'CHF', 'HCALCS', 'PPMID', 'IHD', 'CAD'].map((t) => fuelOf(t as never) ?? null)).toEqual(['electricity', 'gas', 'gas', null, null, null, null, null]);
  });
});

describe('folds given events of another kind leave the state as it was', () => {
  it('a device, a meter point and a User each ignore the others\' events', () => {
    const device = given([inventory(esme, 'ESME', 1, 'Commissioned', mpan)]).devices.get(esme)!;
    const user = given([userRole(noA, 'ED')]).users.get(noA)!;
    const meterPoint = given([registration(mpan, 'supplier', supplierA, T2019)]).meterPoints.get(mpan)!;
    expect(evolveDevice(device, userRole(noA, 'ED'))).toBe(device);
    expect(evolveDevice(undefined, registration(mpan, 'supplier', supplierA, T2019))).toBeUndefined();
    expect(evolveMeterPoint(meterPoint, inventory(esme, 'ESME', 1, 'Commissioned', mpan))).toBe(meterPoint);
    expect(evolveUser(user, placed(esme, 'supplier.critical', cert(noA)))).toBe(user);
  });

  it('an RDP correction replaces the entry of the same effective date: the timeline holds one', () => {
    const w = given([registration(mpan, 'networkOperator', noA, T2019), registration(mpan, 'networkOperator', noB, T2019)]);
    expect(w.meterPoints.get(mpan)!.timelines.networkOperator.map((e) => e.partyUserId)).toEqual([noB]);
  });

  it("a device's state holds its keys in the order they were first given, as the spread it was once made with gave them", () => {
    const inventoryFirst = given([inventory(esme, 'ESME', 1, 'Commissioned', mpan), placed(esme, 'supplier.critical', cert(supplierA, 'digitalSignature', '02', 'S1'))]).devices.get(esme)!;
    const placedFirst = given([placed(esme, 'supplier.critical', cert(supplierA, 'digitalSignature', '02', 'S1')), inventory(esme, 'ESME', 1, 'Commissioned', mpan)]).devices.get(esme)!;
    expect(Object.keys(inventoryFirst)).toEqual(['deviceId', 'inInventory', 'slots', 'deviceType', 'smetsGeneration', 'status', 'mpxn', 'inventory', 'placements']);
    expect(Object.keys(placedFirst)).toEqual(['deviceId', 'inInventory', 'slots', 'placements', 'deviceType', 'smetsGeneration', 'status', 'mpxn', 'inventory']);
    expect(Object.keys(inventoryFirst.placements![0])).toEqual(['slot', 'heldBy', 'certificate', 'via', 'placedAt']);
    // A slot named __proto__ (no slot's name: a stored event's) is a key like any, as the spread made it.
    const placement = placed(esme, 'supplier.critical', cert(noA)) as Extract<LedgerEvent, { type: 'CertificatePlaced' }>;
    const odd = evolveDevice(inventoryFirst, { type: 'CertificatePlaced', data: { ...placement.data, slot: '__proto__' as never } });
    expect([Object.keys(odd.slots), Object.getPrototypeOf(odd.slots)]).toEqual([['supplier.critical', '__proto__'], Object.prototype]);
    // A state parsed from JSON with a key __proto__ (an edited read-model row) keeps it a plain key through the fold: nothing it holds is inherited.
    const edited = JSON.parse(`{"deviceId":"${esme}","inInventory":true,"slots":{},"__proto__":{"placements":[{"slot":"networkOperator.critical"}]}}`) as DeviceState;
    for (const folded of [evolveDevice(edited, inventory(esme, 'ESME', 1, 'Commissioned', mpan)), evolveDevice(edited, placement)]) {
      expect([Object.getPrototypeOf(folded), Object.hasOwn(folded, '__proto__')]).toEqual([Object.prototype, true]);
      expect(folded.placements ?? []).not.toContainEqual({ slot: 'networkOperator.critical' });
    }
  });

  it('a single proxy copy is a finding dated from that copy', () => {
    const w = given([inventory(esme, 'ESME', 1, 'Commissioned', mpan), placed(esme, 'networkOperator.critical', cert(noA), ['S1SP'])]);
    expect(proxyDisagreements(w.devices.get(esme)!, '2024-03-01T00:00:00.000Z').map((f) => f.since)).toEqual(['2020-06-01T00:00:00.000Z']);
  });
});

describe('rule-set limits and the E4 note, at their edges', () => {
  it('a 6.21 handing over NetworkOperator credentials keeps step 4 under every rule set', () => {
    const w = given([userRole(supplierB, 'IS'), registration(mpan, 'supplier', supplierA, T2019), inventory(esme, 'ESME', 1, 'InstalledNotCommissioned', mpan)]);
    for (const ruleSet of ['baseline', 'ownership-only', 'registered-operator']) {
      const ev = when(w, request({ from: supplierB, to: esme, srv: '6.21', rpr: 'NetworkOperator', certificates: [cert(noA)] }), ruleSet);
      expect({ ruleSet, code: ev.decision.data.responseCode }).toEqual({ ruleSet, code: 'E4' });
    }
  });

  it('a RemotePartyRole on a request that replaces no credentials decides nothing', () => {
    const w = given([userRole(noA, 'ED'), registration(mpan, 'networkOperator', noA, T2019), inventory(esme, 'ESME', 1, 'Commissioned', mpan)]);
    expect(when(w, request({ from: noA, to: esme, srv: '4.1.1', rpr: 'Root' })).decision.data.responseCode).toBe('I0');
  });

  it.each`
    case                                                          | events                                                                                                                 | to      | note
    ${'a date range on a device linked to a DCC test MPAN'}      | ${[userRole(noA, 'ED'), inventory(esme, 'ESME', 1, 'Commissioned', '1412345678902')]}                                  | ${esme} | ${false}
    ${'a gas device whose MPRN has nobody registered'}            | ${[userRole(noA, 'GT'), inventory(gpf, 'GPF', 1, 'Commissioned', mprn)]}                                               | ${gpf}  | ${undefined}
    ${'a valid MPAN with another NO registered'}                  | ${[userRole(noA, 'ED'), registration(mpan, 'networkOperator', noB, T2019), inventory(esme, 'ESME', 1, 'Commissioned', mpan)]} | ${esme} | ${undefined}
  `('$case: E4, with the check-digit note: $note', ({ events, to, note }) => {
    const ev = when(given(events), request({ from: noA, to, srv: '6.24.1', dateRange: { from: '2024-01-01T00:00:00.000Z', to: '2024-01-02T00:00:00.000Z' } }));
    expect(ev.decision.data.responseCode).toBe('E4');
    expect(ev.decision.data.checks[3].evidence.mpanCheckDigitValid).toBe(note);
  });

  it('the stuck-device repair options on an electricity meter take unknown parties as EDs', () => {
    const w = given([registration(mpan, 'networkOperator', noA, T2019), inventory(esme, 'ESME', 1, 'Commissioned', mpan), placed(esme, 'networkOperator.critical', cert(noB))]);
    const options = repairOptions(w.devices.get(esme)!, w.meterPoints.get(mpan), {}, getRuleSet('registered-operator'), '2024-03-01T00:00:00.000Z');
    expect(options.map((o) => [o.who, o.accepted, o.responseCode])).toEqual([
      ['registered operator', true, 'I0'],
      ['certificate owner', false, 'E4'],
    ]);
  });

  it('a supplier holding IS and GS is judged as GS on a GPF', () => {
    const w = given([userRole(supplierA, 'IS'), userRole(supplierA, 'GS'), registration(mprn, 'supplier', supplierA, T2019), inventory(gpf, 'GPF', 1, 'Commissioned', mprn)]);
    expect(when(w, request({ from: supplierA, to: gpf, srv: '6.24.1' })).decision.data).toMatchObject({ senderRole: 'GS', responseCode: 'I0' });
  });
});
