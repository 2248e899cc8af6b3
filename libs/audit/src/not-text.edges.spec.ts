import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getRuleSet, type ServiceRequestEvaluatedV1 } from '@ledger/domain';
import { SqliteEventStore, UnreadableEventError } from '@ledger/event-store';
import { Ledger } from '@ledger/ledger';
import { openReadModels, Projector } from '@ledger/projections';
import { ESME, NO_A, NO_B, recordOneEsme, replaceNoCredentials } from '../../ledger/src/testing/one-esme';
import { replayDecision } from './replay';
import { readEvent } from './stream-folds';
import { verifyStore } from './tamper';
import { whatIf } from './what-if';

/**
 * A stored event whose data an edit made bytes that are not UTF-8 (a BLOB): here the placement's
 * certificate issuer, free text, which read as UTF-8 would come out `CN=C\uFFFD` and be projected,
 * replayed and decided on as if the store held it. Every reader refuses it, naming its position.
 */
describe('a stored column of bytes that are not UTF-8 text', () => {
  let dir: string;
  let file: string;
  let decision: ServiceRequestEvaluatedV1;
  let placement: { position: number; revision: number };

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-not-text-'));
    file = path.join(dir, 'ledger.sqlite');
    const store = new SqliteEventStore(file);
    const ledger = new Ledger(store, getRuleSet('baseline'));
    await recordOneEsme(ledger, NO_B);
    await replaceNoCredentials(ledger, NO_A, 1, '2024-03-01T00:00:00Z');
    for await (const e of store.readAll()) if (e.type === 'ServiceRequestEvaluated') decision = readEvent(e, {})!.data as ServiceRequestEvaluatedV1;
    await store.dispose();
    const db = new Database(file);
    placement = db.prepare<[], { position: number; revision: number }>("SELECT position, revision FROM events WHERE type = 'CertificatePlaced' ORDER BY position LIMIT 1").get()!;
    db.close();
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const edit = (statement: string) => {
    const db = new Database(file);
    expect(db.prepare(statement).run(placement.position).changes).toBe(1);
    db.close();
  };
  const notUtf8 = () => edit("UPDATE events SET data = CAST(replace(data, 'CN=CA', 'CN=C' || x'c1') AS BLOB) WHERE position = ?");
  const withStore = async <T>(f: (s: SqliteEventStore) => Promise<T>): Promise<T> => {
    const s = new SqliteEventStore(file);
    try {
      return await f(s);
    } finally {
      await s.dispose();
    }
  };
  const named = () => ({ stream: `device-${ESME}`, revision: BigInt(placement.revision), position: BigInt(placement.position), reason: expect.stringContaining('its stored data is bytes that are not UTF-8 text (a BLOB)') });

  it('the projector halts there, catching up or live, having applied what precedes it', async () => {
    notUtf8();
    await withStore(async (store) => {
      for (const live of [false, true]) {
        const writer = openReadModels(path.join(dir, `rm-${live}.sqlite`));
        const projector = new Projector(store, writer, { batchSize: 2 });
        try {
          if (live) {
            projector.start();
            for (let waited = 0; !projector.halted && waited < 10_000; waited += 10) await new Promise((r) => setTimeout(r, 10));
          } else await expect(projector.catchUp()).rejects.toThrow(UnreadableEventError);
          expect(projector.halted).toEqual({ position: String(placement.position), stream: `device-${ESME}`, revision: String(placement.revision), reason: expect.stringContaining('bytes that are not UTF-8 text') });
          expect(projector.position).toBe(BigInt(placement.position - 1));
        } finally {
          await projector.stop();
          writer.db.close();
        }
      }
    });
  });

  it("the command side refuses to decide on the device's stream (an UnreadableEventError, the API's 500 UNREADABLE_STORED_EVENT), and records nothing", async () => {
    notUtf8();
    await withStore(async (store) => {
      const head = await store.headPosition();
      const err = await replaceNoCredentials(new Ledger(store, getRuleSet('baseline')), NO_A, 2, '2024-03-02T00:00:00Z').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnreadableEventError);
      expect(err).toMatchObject(named());
      expect(await store.headPosition()).toBe(head);
    });
  });

  it('a replay and a what-if refuse, naming the position', async () => {
    notUtf8();
    await withStore(async (store) => {
      await expect(replayDecision(store, decision)).rejects.toMatchObject(named());
      await expect(whatIf(store, getRuleSet('ownership-only'))).rejects.toThrow(`position ${placement.position}`);
    });
  });

  it('verify names it both as unreadable and as a stored-text-mismatch', async () => {
    notUtf8();
    const r = await withStore((s) => verifyStore(s));
    const reason = 'its stored data is bytes that are not UTF-8 text (a BLOB): not the text the ledger wrote';
    expect(r.unreadable).toEqual([{ stream: `device-${ESME}`, revision: String(placement.revision), position: String(placement.position), reason }]);
    expect(r.breaks).toContainEqual({ stream: `device-${ESME}`, kind: 'stored-text-mismatch', revision: String(placement.revision), position: String(placement.position), reason });
  });

  it('a BLOB of the same text, UTF-8, reads as before everywhere', async () => {
    edit('UPDATE events SET data = CAST(data AS BLOB) WHERE position = ?');
    await withStore(async (store) => {
      const writer = openReadModels(path.join(dir, 'rm.sqlite'));
      try {
        const projector = new Projector(store, writer);
        await projector.catchUp();
        expect(projector.halted).toBeUndefined();
        expect(projector.position).toBe(await store.headPosition());
      } finally {
        writer.db.close();
      }
      expect((await replayDecision(store, decision)).identical).toBe(true);
      await expect(replaceNoCredentials(new Ledger(store, getRuleSet('baseline')), NO_A, 2, '2024-03-02T00:00:00Z')).resolves.toBeDefined();
      expect(await verifyStore(store)).toMatchObject({ ok: true, breaks: [], unreadable: [] });
    });
  });
});
