import { addWindow, changedTotal, csv, csvCell, differencePath, emptyTotals, evidenceRows, pagePlan, progress, repairSummary, replayChoices, stuckCsvRow, type WhatIfReply } from './report';

describe('CSV cells', () => {
  it('neutralises cells a spreadsheet would run as formulas', () => {
    expect(['=1+2', '+44', '-3', '@SUM(A1)', '\tx', '\rx'].map(csvCell)).toEqual(["'=1+2", "'+44", "'-3", "'@SUM(A1)", "'\tx", `"'\rx"`]);
  });
  it('quotes commas, quotes and line breaks, and leaves plain cells alone', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvCell('00-DB-00-00-00-1F-00-01')).toBe('00-DB-00-00-00-1F-00-01');
    expect(csvCell(null)).toBe('');
  });
  it('joins rows with CRLF under the header', () => {
    expect(csv(['a', 'b'], [[1, '=x']])).toBe("a,b\r\n1,'=x\r\n");
  });
});

describe('a stuck row', () => {
  const row = {
    deviceId: '00-DB-00-00-00-1F-00-01',
    mpxn: '1412345678901',
    registeredOperator: 'NO-A',
    certificateOwner: 'NO-B',
    since: '2020-06-01T00:00:00.000Z',
    repairable: true,
    repairs: [
      { who: 'registered operator', userId: 'NO-A', role: 'ED', srv: '6.15.1', carrying: 'its own certificates', accepted: true, responseCode: 'I0', reason: 'accepted' },
      { who: 'certificate owner', userId: 'NO-B', role: 'ED', srv: '6.15.1', carrying: "the registered NO's", accepted: false, responseCode: 'E4', reason: 'not registered' },
    ],
  };
  it('says who could repair it and with which request, and only those accepted', () => {
    expect(repairSummary(row)).toEqual({ by: 'registered operator NO-A as ED', request: '6.15.1 carrying its own certificates' });
    expect(stuckCsvRow(row)).toEqual([row.deviceId, row.mpxn, '14', 'NO-A', 'NO-B', row.since, 'yes', 'registered operator NO-A as ED', '6.15.1 carrying its own certificates', '']);
    expect(stuckCsvRow({ ...row, mpxn: '1234567', repairs: undefined, repairable: undefined })[2]).toBe('');
  });
  it('says where the proxy copies disagree, with both owners where they differ', () => {
    expect(stuckCsvRow({ ...row, copiesDisagree: true, copyOwners: { DSP: 'NO-A', S1SP: 'NO-B' } })[9]).toBe('copies disagree: DSP NO-A, S1SP NO-B');
    expect(stuckCsvRow({ ...row, copiesDisagree: true })[9]).toBe('copies disagree');
    expect(stuckCsvRow({ ...row, copiesDisagree: true, issuerSpeltTwoWays: true })[9]).toBe('copies disagree (one certificate, issuer spelt two ways: disagree under rule sets @1-@4)');
  });
});

const reply = (judged: number, changes: number, window: WhatIfReply['window']): WhatIfReply => ({
  judged,
  unchanged: judged - changes,
  changed: { rejectedToAccepted: changes, acceptedToRejected: 0, codeOnly: 0 },
  bySrv: { '6.15.1': { judged, changed: changes } },
  byCode: changes ? { 'E4 -> I0': changes } : {},
  changes: { total: changes, offset: 0, items: [] },
  window,
});

describe('the rule sets a decision can be replayed under', () => {
  it.each`
    recorded                   | choices
    ${'registered-operator@3'} | ${['baseline@5', 'ownership-only@5', 'registered-operator@5']}
    ${'registered-operator@4'} | ${['baseline@5', 'ownership-only@5', 'registered-operator@5']}
    ${'registered-operator@5'} | ${['baseline@5', 'ownership-only@5']}
    ${'baseline@5'}            | ${['ownership-only@5', 'registered-operator@5']}
    ${'baseline@1'}            | ${['baseline@5', 'ownership-only@5', 'registered-operator@5']}
  `('a decision recorded under $recorded: $choices', ({ recorded, choices }) => {
    const [id, version] = recorded.split('@');
    expect(replayChoices({ id, version: Number(version) })).toEqual(choices);
  });
});

describe('a what-if run window by window', () => {
  const w1 = reply(10, 3, { fromPosition: '0', lastPosition: '100', eventsRead: 100, nextPosition: '101', head: '250' });
  const w2 = reply(5, 0, { fromPosition: '101', lastPosition: '200', eventsRead: 100, nextPosition: '201', head: '250' });
  const w3 = reply(8, 4, { fromPosition: '201', lastPosition: '250', eventsRead: 50, nextPosition: null, head: '250' });
  const totals = [w1, w2, w3].reduce(addWindow, emptyTotals());

  it('sums the counts of every window', () => {
    expect(totals).toMatchObject({ judged: 23, unchanged: 16, changed: { rejectedToAccepted: 7 }, bySrv: { '6.15.1': { judged: 23, changed: 7 } }, byCode: { 'E4 -> I0': 7 }, eventsRead: 250 });
    expect(changedTotal(totals)).toBe(7);
    expect(addWindow(emptyTotals(), w1).judged).toBe(10);
  });

  it('plans the requests for a page of changes across windows', () => {
    expect(pagePlan(totals.windows, 0, 5)).toEqual([
      { fromPosition: '0', toPosition: '100', offset: 0, limit: 3 },
      { fromPosition: '201', toPosition: '250', offset: 0, limit: 2 },
    ]);
    expect(pagePlan(totals.windows, 5, 5)).toEqual([{ fromPosition: '201', toPosition: '250', offset: 2, limit: 2 }]);
    expect(pagePlan(totals.windows, 2, 1)).toEqual([{ fromPosition: '0', toPosition: '100', offset: 2, limit: 1 }]);
    expect(pagePlan(totals.windows, 7, 5)).toEqual([]);
  });

  it('measures progress by position', () => {
    expect(progress('1', '100', '250')).toBe(0.4);
    expect(progress('1', '250', '250')).toBe(1);
    expect(progress('1', null, '250')).toBe(0);
  });
});

describe('evidence and differences for people', () => {
  it('flattens nested evidence into rows', () => {
    expect(evidenceRows({ mpxn: '14', registered: { partyUserId: 'NO-A', effectiveFrom: '2019' }, changes: [], roles: ['ED', 'GT'] })).toEqual([
      { key: 'mpxn', value: '14' },
      { key: 'registered.partyUserId', value: 'NO-A' },
      { key: 'registered.effectiveFrom', value: '2019' },
      { key: 'changes', value: 'none' },
      { key: 'roles', value: 'ED, GT' },
    ]);
  });
  it('names a check by its step and name', () => {
    const checks = [{ step: 1, check: 'user-role' }, { step: 2, check: 'srv-eligibility' }, { step: 3, check: 'device' }, { step: 4, check: 'registration-data' }];
    expect(differencePath('checks.3.outcome', checks)).toBe('check 4 (registration-data): outcome');
    expect(differencePath('checks.3', checks)).toBe('check 4 (registration-data)');
    expect(differencePath('responseCode', checks)).toBe('responseCode');
  });
});
