import { createHash } from 'node:crypto';
import { getRuleSet, parseServiceRequest } from '@ledger/domain';
import { chainEvents, GENESIS_HASH, SqliteEventStore, type RecordedEvent } from '@ledger/event-store';
import { runDemo } from '../demo';
import { Ledger } from '../ledger';
import { toLedgerEvent } from '../streams';

/**
 * The bytes of every event the commands write, pinned: a demo estate (every command: roles,
 * Registration Data, inventory, migrations, service requests with and without placements) and a
 * few commands the demo does not send (an operator correction to one proxy copy, a role with
 * market ids and a status, a device serving no meter point, an audit job, a retried request),
 * under a rule set of each edition. The digest covers each stream's events in order: id, type,
 * data and metadata as the store holds them (JSON text, so field order counts). It was taken from
 * the code before the commands became deciders, and must not move: a recorded decision replays,
 * and a retried command finds its event, only while the same input gives the same bytes.
 *
 * Since decisions are stored as ServiceRequestEvaluated version 3 (decision-record.ts), the bytes
 * stored for a decision moved, once, on purpose (`stored`). What did not move is what they read
 * as (`asRead`): each event's data as the ledger reads it, with the hash chain computed again over
 * that data, digests to the figure taken before the deciders, so every decision reads back byte
 * for byte as the earlier code wrote it, hash-chain links included.
 *
 * `hashes` pins every `$prevHash` and `$hash` as stored: a change to how events are serialised or
 * hashed must give the same input the same chain.
 *
 * All three moved on 2026-11-27, on purpose, when the demo came to send each device's requests in
 * the order of their receivedAt (it had sent them in the order planned, stamped at random
 * instants), as a device's traffic arrives: the requests' ids and the certificates' serials follow
 * the order sent. The same change to the demo gives these same three digests on the code before
 * and after a request came to be judged no earlier than the latest decision on its device
 * (judgingInstant): in this estate none is judged later than received.
 *
 * Rule sets @3 (2026-11-27) are pinned from the code that added them: their decisions name @3, so
 * their bytes are their own; baseline@2 (the default until then) still gives the
 * bytes pinned before. So are rule sets @4 (2026-11-27, fifteenth session: registered-operator's
 * override for the registered NO only), the default until @5; baseline@3 keeps its bytes. And rule
 * sets @5 (2026-11-28, twentieth session), the default since: registered-operator@5 writes one
 * event more than @4, the ESME's renewal by NO-A accepted (its placement) where the operator
 * correction left the two copies disagreeing (C1 and C2): the override applies whatever the copies
 * hold from @5; the demo estate's own 64 decisions store the same checks under @4 and @5.
 */
const NO_A = '90-B3-D5-1F-30-03-00-0A';
const ESME = '00-DB-12-34-56-78-90-01';
const PLAIN = '00-DB-12-34-56-78-90-02';
const ctx = { actor: 'test' };

async function digestOf(store: SqliteEventStore): Promise<{ events: number; stored: string; asRead: string; hashes: string }> {
  const byStream = new Map<string, RecordedEvent[]>();
  for await (const e of store.readAll()) byStream.set(e.stream, [...(byStream.get(e.stream) ?? []), e]);
  const stored = createHash('sha256');
  const asRead = createHash('sha256');
  const hashes = createHash('sha256');
  let events = 0;
  for (const stream of [...byStream.keys()].sort()) {
    const recorded = byStream.get(stream)!;
    const read = chainEvents(
      stream,
      0n,
      GENESIS_HASH,
      recorded.map(({ id, type, metadata: { $prevHash: _p, $hash: _h, ...metadata } }, i) => ({ id, type, data: toLedgerEvent(recorded[i]).data, metadata })),
    );
    recorded.forEach((e, i) => {
      stored.update(`${stream}\n${e.revision}\n${e.id}\n${e.type}\n${JSON.stringify(e.data)}\n${JSON.stringify(e.metadata)}\n`);
      asRead.update(`${stream}\n${e.revision}\n${e.id}\n${e.type}\n${JSON.stringify(read[i].data)}\n${JSON.stringify(read[i].metadata)}\n`);
      hashes.update(`${stream}\n${e.revision}\n${String(e.metadata.$prevHash)}\n${String(e.metadata.$hash)}\n`);
      events++;
    });
  }
  return { events, stored: stored.digest('hex'), asRead: asRead.digest('hex'), hashes: hashes.digest('hex') };
}

async function estate(ruleSet: string): Promise<{ events: number; stored: string; asRead: string; hashes: string }> {
  const store = new SqliteEventStore(':memory:');
  try {
    const ledger = new Ledger(store, getRuleSet(ruleSet));
    await runDemo(ledger, { devices: 60, seed: 7, wrongNoShare: 0.3, concurrency: 1 });
    await ledger.registerUserRole({ userId: NO_A, role: 'ED', status: 'Suspended', marketIds: ['14', '22'], effectiveFrom: '2023-01-01' }, ctx);
    await ledger.registerUserRole({ userId: NO_A, role: 'ED', effectiveFrom: '2024-01-01T00:00:00+01:00' }, ctx);
    await ledger.changeInventory({ deviceId: ESME.toLowerCase(), deviceType: 'ESME', smetsGeneration: 1, status: 'Commissioned', mpxn: '1412345678901', changedAt: '2019-06-01' }, ctx);
    await ledger.changeInventory({ deviceId: PLAIN, deviceType: 'IHD', smetsGeneration: 2, status: 'Pending', mpxn: null, changedAt: '2019-06-01' }, ctx);
    await ledger.recordRegistration({ mpxn: '1412345678901', responsibility: 'networkOperator', partyUserId: NO_A, effectiveFrom: '2019-01-01', recordId: ' R1 ', file: 'f.csv', line: 2 }, ctx);
    const certificate = { serial: 'C1', issuer: 'CN=CA', ownerUserId: NO_A, roleCode: '03', keyUsage: 'digitalSignature' };
    await ledger.placeCertificate({ deviceId: ESME, slot: 'networkOperator.critical', certificate, via: { kind: 'migration' }, placedAt: '2019-06-01' }, ctx);
    await ledger.placeCertificate({ deviceId: ESME, slot: 'networkOperator.critical', certificate: { ...certificate, serial: 'C2' }, heldBy: ['S1SP'], via: { kind: 'operatorCorrection', reference: 'OPS-1' }, placedAt: '2021-01-01' }, ctx);
    const renew = parseServiceRequest({
      requestId: `${NO_A}:${ESME}:1`,
      srv: '6.15.1',
      remotePartyRole: 'NetworkOperator',
      certificates: [{ ...certificate, serial: 'C3' }],
      receivedAt: '2024-03-01T00:00:00Z',
      format: 'json',
    });
    await ledger.submit(renew, { actor: 'test', correlationId: 'corr-1' });
    await ledger.submit(renew, ctx);
    await ledger.submit(parseServiceRequest({ requestId: `${NO_A}:${PLAIN}:2`, srv: '4.1.1', receivedAt: '2024-03-01T00:00:00Z', format: 'json' }), { actor: 'test', correlationId: 'c', causationId: 'd' });
    await ledger.recordAuditJob(
      { jobId: 'job-1', kind: 'verify', state: 'succeeded', requestedBy: 'api:auditor', requestedAt: '2024-03-01T00:00:00.000Z', startedAt: null, endedAt: '2024-03-01T00:00:01.000Z', positionThrough: '12', params: {}, findings: { ok: true }, error: null },
      ctx,
    );
    return await digestOf(store);
  } finally {
    await store.dispose();
  }
}

describe('the events written for the same input', () => {
  it.each`
    ruleSet                    | events | asRead                                                                | stored                                                                | hashes
    ${'baseline@2'}            | ${455} | ${'3d0484254a01c20a6017409a6db7bee604730da332fcd77ba627612d9c149b67'} | ${'852b4031ac0d63bf6c071ad9c4eca81f8c7e805e03c1429250f39887075e4cbd'} | ${'90f46e2b893cc68d3e2a8fd42afa2c0dcac1409026fcbae3b8184be9a264e8a5'}
    ${'baseline@3'}            | ${455} | ${'19ea505f90a4bc03b06051df15b261be41868a461332f82be63578572dcece82'} | ${'3cc29a651d9343b6c438a09a007d7bd0425b27d19cf78ff357e8176a8c254749'} | ${'b8089489e10bf6c527dfecf0ac497f555c5665b970fa1ad43e0d00478732ea7e'}
    ${'baseline@4'}            | ${455} | ${'1bb9df192d7c0a3149e1bed95ea508dd589ecaac3ada4aaf5e910b00e9e8e939'} | ${'90588fa1ff451a58c927208c7eb7e4527b22f210dce657d8d62aeed23822cf51'} | ${'201d1dc91e6089e66a0dd104d075eee333f19c4e70d843d07f17ea02b964fe07'}
    ${'registered-operator@4'} | ${473} | ${'66e87b2cc99db450355851a3ec6843f9503d0667dc0bd3d8cb10bda36b5b3cbc'} | ${'6049ab8549abd71e79f63548f99c7713feb06140bb1f78222d79dbbbf93c8711'} | ${'82d52354075d19ed2a1d9380fb23461a51061e826a138bd2fb42ce4667f3717e'}
    ${'baseline@5'}            | ${455} | ${'866e102bab130c641d7b29c26dc0bbcf7f8ab55881f98e755ff81008c61875c4'} | ${'fb0df2ceb703c1ed46801486bb5154031c5b834cde3d2499a230c50d4f1e48d5'} | ${'6a8dcdb4c1159837dc06b81138782766c20f3cfdf3dcfcb53327367adb052b26'}
    ${'registered-operator@5'} | ${474} | ${'108d4b55e6b7770a60b2fa4f02eb62344dbcdf099221f32496e3101e2bd977f5'} | ${'cefa3c2933081c24e0f0524b6a6af520af0e5e6b6ae717e9577e7867fc4f677d'} | ${'1b34a286c5debacb59a29a6355bd6bf35542885dd605b480554239d44db679e7'}
    ${'registered-operator@1'} | ${473} | ${'5ad99fdf8ca60d477bc9fb00518bbd31cd7d156a4d4fefa83ef955033baff412'} | ${'0501f10c9a750523ad36a29b22f640e9aed6bcfd739965c2ea886ddca5703fb9'} | ${'0855102041d9d705bec82b714fd1b91f2d37fafd51803ac4a1d71db5907719b5'}
  `('under $ruleSet read and are stored as pinned', async ({ ruleSet, events, asRead, stored, hashes }) => {
    expect(await estate(ruleSet)).toEqual({ events, asRead, stored, hashes });
  });
});
