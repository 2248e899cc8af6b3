import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getRuleSet } from '@ledger/domain';
import { SqliteEventStore } from '@ledger/event-store';
import { Ledger } from '@ledger/ledger';
import { openReadModels, Projector, queriesOf } from '@ledger/projections';
import { ESME, NO_A, NO_B, recordOneEsme, replaceNoCredentials } from '../../ledger/src/testing/one-esme';
import { verifyStore } from './tamper';

/**
 * Read models projected before the chain check read stored texts (2026-11-27: no
 * `stored_text_mismatches` in the file) hold events whose text nobody checked. Opened by this code,
 * the incremental verification says from which position texts were checked (`textCheckedFrom`: the
 * checkpoint as of then, plus one) and does not say ok, until a rebuild checks them all.
 */
describe('the incremental verification of read models projected before stored texts were checked', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-older-rm-'));
    file = path.join(dir, 'ledger.sqlite');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('names the first position it checked the text of, says not ok, and a rebuild checks the rest', async () => {
    const rmFile = path.join(dir, 'rm.sqlite');
    let store = new SqliteEventStore(file);
    let writer = openReadModels(rmFile);
    try {
      await recordOneEsme(new Ledger(store, getRuleSet('baseline')), NO_B);
      await new Projector(store, writer).catchUp();
    } finally {
      writer.db.close();
      await store.dispose();
    }
    // The file as code of before left it (no table of texts), and a text given a key twice meanwhile.
    const rm = new Database(rmFile);
    const checkpoint = BigInt((rm.prepare('SELECT position FROM checkpoint').get() as { position: string }).position);
    rm.exec('DROP TABLE stored_text_mismatches; DROP TABLE IF EXISTS stored_text_checked_after');
    rm.close();
    const db = new Database(file);
    expect(db.prepare(`UPDATE events SET metadata = '{"actor":"mallory",' || substr(metadata, 2) WHERE stream = 'device-${ESME}' AND revision = 0`).run().changes).toBe(1);
    db.close();

    store = new SqliteEventStore(file);
    writer = openReadModels(rmFile);
    try {
      const full = await verifyStore(store);
      expect(full.breaks.map((b) => [b.kind, BigInt(b.position) <= checkpoint])).toEqual([['stored-text-mismatch', true]]);
      for (let i = 1; i <= 2; i++) await replaceNoCredentials(new Ledger(store, getRuleSet('baseline')), NO_A, i, `2024-03-0${i}T00:00:00Z`);
      const projector = new Projector(store, writer);
      await projector.catchUp();
      expect(queriesOf(writer).integrity.incrementalVerification()).toMatchObject({ ok: false, breaks: [], textCheckedFrom: (checkpoint + 1n).toString() });
      await projector.rebuild();
      expect(queriesOf(writer).integrity.incrementalVerification()).toMatchObject({ ok: false, breaks: full.breaks, textCheckedFrom: null });
    } finally {
      writer.db.close();
      await store.dispose();
    }
  });

  it('read models made by this code: every text checked (textCheckedFrom null), ok when nothing broke', async () => {
    const store = new SqliteEventStore(file);
    try {
      await recordOneEsme(new Ledger(store, getRuleSet('baseline')), NO_B);
      const rmFile = path.join(dir, 'rm.sqlite');
      for (let open = 0; open < 2; open++) {
        const writer = openReadModels(rmFile);
        try {
          await new Projector(store, writer).catchUp();
          expect(queriesOf(writer).integrity.incrementalVerification()).toMatchObject({ ok: true, breaks: [], textCheckedFrom: null });
        } finally {
          writer.db.close();
        }
      }
    } finally {
      await store.dispose();
    }
  });
});
