import { copyDisagreements, mismatches, registrationBands, scale, slotBands, ticks, timeSpan, type PlacementEntry } from './timeline';

const NOW = '2025-01-01T00:00:00.000Z';
const NO_A = '90-B3-D5-1F-30-03-00-0A';
const NO_B = '90-B3-D5-1F-30-03-00-0B';

const placed = (slot: string, owner: string, serial: string, placedAt: string, heldBy = ['DSP', 'S1SP'], via = 'migration'): PlacementEntry => ({
  kind: 'certificate', slot, heldBy, serial, issuer: 'CN=CA', identity: `${serial}|CN=CA`, owner, via, reference: via === 'migration' ? 'MIG-1' : 'NO-A:DEV:1', placedAt,
});

describe('slot timelines', () => {
  const history = [
    { kind: 'inventory' },
    placed('networkOperator.critical', NO_B, '0B01', '2020-06-01T00:00:00.000Z'),
    { kind: 'decision' },
    placed('networkOperator.critical', NO_A, '0A01', '2024-03-01T00:00:00.000Z', ['DSP', 'S1SP'], 'request'),
    placed('networkOperator.critical', NO_A, '0A02', '2026-01-01T00:00:00.000Z'),
    placed('supplier.critical', NO_A, '5', '2020-06-01T00:00:00.000Z'),
  ];

  it('makes one band per placement of the slot and copy, each ended by the next, in time order', () => {
    const bands = slotBands(history, 'networkOperator.critical', 'DSP', NOW);
    expect(bands.map((b) => [b.start, b.end, b.party, b.key])).toEqual([
      ['2020-06-01T00:00:00.000Z', '2024-03-01T00:00:00.000Z', NO_B, '0B01|CN=CA'],
      ['2024-03-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', NO_A, '0A01|CN=CA'],
      ['2026-01-01T00:00:00.000Z', null, NO_A, '0A02|CN=CA'],
    ]);
    expect(bands[1].detail).toContain('via request NO-A:DEV:1');
  });

  it('marks a placement dated after now as pending', () => {
    expect(slotBands(history, 'networkOperator.critical', 'S1SP', NOW).map((b) => b.pending)).toEqual([false, false, true]);
  });

  it('takes a placement into the copies it was written to only', () => {
    const one = [placed('supplier.critical', NO_A, '1', '2020-01-01T00:00:00.000Z', ['DSP'])];
    expect(slotBands(one, 'supplier.critical', 'DSP', NOW)).toHaveLength(1);
    expect(slotBands(one, 'supplier.critical', 'S1SP', NOW)).toHaveLength(0);
  });
});

describe('band overlaps', () => {
  const reg = registrationBands(
    [
      { partyUserId: NO_A, effectiveFrom: '2019-01-01T00:00:00.000Z', recordId: 'R1' },
      { partyUserId: NO_B, effectiveFrom: '2022-01-01T00:00:00.000Z', recordId: 'R2' },
    ],
    NOW,
  );

  it('registration bands run from one effective date to the next', () => {
    expect(reg.map((b) => [b.start, b.end, b.party])).toEqual([
      ['2019-01-01T00:00:00.000Z', '2022-01-01T00:00:00.000Z', NO_A],
      ['2022-01-01T00:00:00.000Z', null, NO_B],
    ]);
  });

  it('finds where the certificate owner is not the registered NO, merged into stretches', () => {
    // NO-B's certificate from 2020-06 while NO-A is registered: stuck until NO-B becomes the registered NO in 2022.
    const held = slotBands([placed('networkOperator.critical', NO_B, '0B01', '2020-06-01T00:00:00.000Z')], 'networkOperator.critical', 'DSP', NOW);
    expect(mismatches(held, reg)).toEqual([{ start: '2020-06-01T00:00:00.000Z', end: '2022-01-01T00:00:00.000Z', detail: `certificate owner ${NO_B}, registered ${NO_A}` }]);
  });

  it('an open-ended mismatch stays open, and matching bands give none', () => {
    const held = slotBands([placed('networkOperator.critical', NO_A, '0A01', '2020-06-01T00:00:00.000Z')], 'networkOperator.critical', 'DSP', NOW);
    expect(mismatches(held, reg)).toEqual([{ start: '2022-01-01T00:00:00.000Z', end: null, detail: `certificate owner ${NO_A}, registered ${NO_B}` }]);
    const same = registrationBands([{ partyUserId: NO_A, effectiveFrom: '2019-01-01T00:00:00.000Z', recordId: 'R1' }], NOW);
    expect(mismatches(held, same)).toEqual([]);
  });

  it('no registration, or no certificate, is not a mismatch', () => {
    const held = slotBands([placed('networkOperator.critical', NO_B, '0B01', '2020-06-01T00:00:00.000Z')], 'networkOperator.critical', 'DSP', NOW);
    expect(mismatches(held, [])).toEqual([]);
    expect(mismatches([], reg)).toEqual([]);
  });

  it('finds where the DSP and S1SP copies disagree or only one is held', () => {
    const h = [
      placed('networkOperator.critical', NO_B, '0B01', '2020-06-01T00:00:00.000Z'),
      placed('networkOperator.critical', NO_A, '0A01', '2023-01-01T00:00:00.000Z', ['DSP'], 'operatorCorrection'),
      placed('networkOperator.critical', NO_A, '0A01', '2023-06-01T00:00:00.000Z', ['S1SP'], 'operatorCorrection'),
    ];
    const dsp = slotBands(h, 'networkOperator.critical', 'DSP', NOW);
    const s1sp = slotBands(h, 'networkOperator.critical', 'S1SP', NOW);
    expect(copyDisagreements(1, dsp, s1sp)).toEqual([{ start: '2023-01-01T00:00:00.000Z', end: '2023-06-01T00:00:00.000Z', detail: `DSP holds ${NO_A} (serial 0A01), S1SP holds ${NO_B} (serial 0B01)` }]);
    const only = slotBands([placed('supplier.critical', NO_A, '1', '2021-01-01T00:00:00.000Z', ['DSP'])], 'supplier.critical', 'DSP', NOW);
    expect(copyDisagreements(1, only, [])).toEqual([{ start: '2021-01-01T00:00:00.000Z', end: null, detail: 'only the DSP copy is held' }]);
  });

  it('finds none on a SMETS2 device, or one of no known generation, as the server flags none there (a SMETS2 meter holds its certificates itself)', () => {
    const only = slotBands([placed('supplier.critical', NO_A, '1', '2021-01-01T00:00:00.000Z', ['DSP'])], 'supplier.critical', 'DSP', NOW);
    expect(copyDisagreements(2, only, [])).toEqual([]);
    expect(copyDisagreements(undefined, only, [])).toEqual([]);
  });

  it("compares the copies by the server's identity (serial and issuer name), not the issuer's text", () => {
    // The same certificate placed as JSON in the DSP copy and as DER (the X.509 library's rendering) in the S1SP copy.
    const asJson = { ...placed('networkOperator.critical', NO_A, '0A01', '2021-01-01T00:00:00.000Z', ['DSP']), issuer: 'CN=Test CA,O=X', identity: 'same' };
    const asDer = { ...placed('networkOperator.critical', NO_A, '0A01', '2021-01-01T00:00:00.000Z', ['S1SP']), issuer: 'CN=Test CA, O=X', identity: 'same' };
    const bands = (h: PlacementEntry[], copy: 'DSP' | 'S1SP') => slotBands(h, 'networkOperator.critical', copy, NOW);
    expect(copyDisagreements(1, bands([asJson], 'DSP'), bands([asDer], 'S1SP'))).toEqual([]);
  });
});

describe('the time axis', () => {
  it('spans every instant and now, with a margin, and maps instants into it in order', () => {
    const span = timeSpan(['2020-01-01T00:00:00Z', '2022-01-01T00:00:00Z'], '2024-01-01T00:00:00Z');
    expect(span.start).toBeLessThan(Date.parse('2020-01-01T00:00:00Z'));
    expect(span.end).toBeGreaterThan(Date.parse('2024-01-01T00:00:00Z'));
    const x = scale(span, 100, 1100);
    expect(x('2020-01-01T00:00:00Z')).toBeGreaterThan(100);
    expect(x('2022-01-01T00:00:00Z')).toBeGreaterThan(x('2020-01-01T00:00:00Z'));
    expect(x(null)).toBe(1100);
    expect(x('1990-01-01T00:00:00Z')).toBe(100);
  });

  it('ticks each year on a long span and each month on a short one', () => {
    expect(ticks({ start: Date.parse('2019-06-01T00:00:00Z'), end: Date.parse('2022-03-01T00:00:00Z') }).map((t) => t.label)).toEqual(['2020', '2021', '2022']);
    const monthly = ticks({ start: Date.parse('2024-10-15T00:00:00Z'), end: Date.parse('2025-02-15T00:00:00Z') });
    expect(monthly.map((t) => t.label)).toEqual(['2024-11', '2024-12', '2025', '2025-02']);
  });
});
