import { pageStuck, parseStuckCursor } from './stuck-page';

type StuckRow = Parameters<typeof pageStuck>[0][number] & { repairs?: unknown[] };

const row = (n: number, over: Partial<StuckRow> = {}): StuckRow => ({
  stuck: true,
  deviceId: `00-DB-00-00-00-00-${String(n).padStart(2, '0')}-01`,
  mpxn: n % 2 ? `14${String(n).padStart(11, '0')}` : `10${String(n).padStart(11, '0')}`,
  registeredOperator: n % 3 ? 'NO-A' : 'NO-B',
  certificateOwner: 'NO-C',
  since: `202${n % 5}-01-01T00:00:00.000Z`,
  ...over,
});
const rows = Array.from({ length: 12 }, (_, i) => row(i + 1));

describe('the stuck report, paged', () => {
  it('pages by device id with a cursor until the last page, and counts every match', () => {
    const seen: string[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const page = pageStuck(rows, { limit: 5, after: after === undefined ? undefined : parseStuckCursor(after, 'deviceId') });
      expect(page.count).toBe(12);
      expect(page.offset).toBe(seen.length);
      seen.push(...page.devices.map((d) => d.deviceId));
      after = page.next ?? undefined;
      pages++;
    } while (after);
    expect(pages).toBe(3);
    expect(seen).toEqual(rows.map((r) => r.deviceId).sort());
  });

  it('sorts by since, both ways, ties by device id, and pages in that order', () => {
    const first = pageStuck(rows, { sort: 'since', limit: 4 });
    const second = pageStuck(rows, { sort: 'since', limit: 4, after: parseStuckCursor(first.next!, 'since') });
    const all = [...first.devices, ...second.devices].map((d) => `${d.since}|${d.deviceId}`);
    expect(all).toEqual([...all].sort());
    expect(new Set(all).size).toBe(8);
    const desc = pageStuck(rows, { sort: 'since', order: 'desc', limit: 100 }).devices.map((d) => d.since);
    expect(desc).toEqual([...desc].sort().reverse());
  });

  it('filters by NO (registered or owner), area and since', () => {
    expect(pageStuck(rows, { no: 'NO-B' }).devices.every((d) => d.registeredOperator === 'NO-B')).toBe(true);
    expect(pageStuck(rows, { no: 'NO-B' }).count).toBe(4);
    expect(pageStuck(rows, { no: 'NO-C' }).count).toBe(12);
    expect(pageStuck(rows, { area: '14' }).count).toBe(6);
    expect(pageStuck([...rows, row(13, { mpxn: '1234567' })], { area: '14' }).devices.every((d) => d.mpxn!.startsWith('14'))).toBe(true);
    const ranged = pageStuck(rows, { sinceFrom: '2021-01-01T00:00:00.000Z', sinceTo: '2022-01-01T00:00:00.000Z' });
    expect(ranged.devices.map((d) => d.since).every((s) => s! >= '2021' && s! <= '2022-01-01T00:00:00.000Z')).toBe(true);
    expect(ranged.count).toBe(6); // n % 5 in {1, 2}: n = 1, 2, 6, 7, 11, 12
  });

  it('counts the repairable rows among the matches when there is a rule set', () => {
    const withRepairs = rows.map((r, i) => ({ ...r, repairs: [], repairable: i % 2 === 0 }));
    expect(pageStuck(withRepairs, { limit: 1 }).repairable).toBe(6);
    expect(pageStuck(rows, {}).repairable).toBeUndefined();
  });
});
