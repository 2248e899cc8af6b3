import { walkDamaged as serverWalkDamaged, whatIf, type StuckRow, type WhatIfReport } from '@ledger/audit';
import { getRuleSet, RULE_SET_NAMES, type RegistrationEntry as ServerRegistration } from '@ledger/domain';
import { SqliteEventStore } from '@ledger/event-store';
import { Ledger, runDemo } from '@ledger/ledger';
import { addWindow, emptyTotals, LATEST_RULE_SETS, stuckCsvRow, walkDamaged, type StuckDevice, type WhatIfReply } from './report';
import type { RegistrationEntry } from './timeline';

/**
 * The console declares the shapes it reads from the API, since its build (a browser bundle) does
 * not import the server's libraries. These aliases hold them to the server's own types: the
 * typecheck `npm test` runs first fails if a server type no longer gives what the console reads.
 */
type Gives<Console, Server extends Console> = [Console, Server];
export type Checked = [Gives<WhatIfReply, WhatIfReport>, Gives<StuckDevice, StuckRow>, Gives<RegistrationEntry, ServerRegistration>];

describe("the console's shapes, held to the server's", () => {
  it("sums a real what-if report, window by window, to the one-pass report's counts", async () => {
    const store = new SqliteEventStore(':memory:');
    try {
      await runDemo(new Ledger(store, getRuleSet('baseline')), { devices: 12, seed: 4 });
      const ruleSet = getRuleSet('ownership-only');
      const whole = await whatIf(store, ruleSet);
      let totals = emptyTotals();
      let from: string | null = '1';
      while (from !== null) {
        const window: WhatIfReply = await whatIf(store, ruleSet, {}, { fromPosition: BigInt(from), maxEvents: 25 });
        totals = addWindow(totals, window);
        from = window.window!.nextPosition;
      }
      expect(totals).toMatchObject({ judged: whole.judged, unchanged: whole.unchanged, changed: whole.changed, bySrv: whole.bySrv, byCode: whole.byCode });
      expect(whole.judged).toBeGreaterThan(10);
    } finally {
      await store.dispose();
    }
  });

  it.each`
    checkedThrough | head         | said
    ${'40'}        | ${'60'}      | ${'through position 40 of 60 (damage ended the walk)'}
    ${null}        | ${'60'}      | ${'no position of 60 checked (damage ended the walk)'}
    ${'60'}        | ${'60'}      | ${'through position 60 (every event read; the damage below was found after the walk)'}
    ${null}        | ${null}      | ${'no event in the table (the damage below was found after the walk)'}
    ${'60'}        | ${undefined} | ${'damage found, checked through position 60'}
    ${null}        | ${undefined} | ${'damage found, no position checked'}
  `("says how far a verification that met damage read ($checkedThrough of $head) as the server's CLI says it: $said", ({ checkedThrough, head, said }) => {
    expect(serverWalkDamaged({ checkedThrough }, head)).toBe(said);
    expect(walkDamaged({ checkedThrough }, head)).toBe(said);
  });

  it("knows every rule set at the server's latest version", () => {
    expect(LATEST_RULE_SETS).toEqual(RULE_SET_NAMES.map((id) => ({ id, version: getRuleSet(id).version })));
  });

  it('writes a stuck-device CSV row from the server row shape', () => {
    const row: StuckRow = { stuck: true, deviceId: 'd', mpxn: '1412345678901', registeredOperator: 'no', certificateOwner: 'owner', since: '2020-01-01T00:00:00Z', repairs: [{ who: 'registered operator', userId: 'no', role: 'GT', srv: '6.15.1', carrying: 'c', accepted: true, responseCode: 'I0', reason: 'r' }], repairable: true };
    expect(stuckCsvRow(row)).toEqual(['d', '1412345678901', '14', 'no', 'owner', '2020-01-01T00:00:00Z', 'yes', 'registered operator no as GT', '6.15.1 carrying c', '']);
    expect(stuckCsvRow({ ...row, copiesDisagree: true, copyOwners: { DSP: 'no', S1SP: 'owner' } })[9]).toBe('copies disagree: DSP no, S1SP owner');
  });
});
