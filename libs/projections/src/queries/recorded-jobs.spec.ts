import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getRuleSet, type AuditJobRecordedV1 } from '@ledger/domain';
import { SqliteEventStore } from '@ledger/event-store';
import { Ledger } from '@ledger/ledger';
import { openReadModels } from '../processor/projection-writer';
import { Projector } from '../processor/projector';
import { ACTOR_NOT_KEPT } from '../projections/actors';
import { queriesOf } from './queries-of';

const ASKER = 'api:auditor:5f0c2a9e71d4:alice';
const OTHER = 'api:auditor:b81e04c3d2a7:bob';

/** A cancelled job's end as recorded before 2026-11-28 (nineteenth session): AuditJobRecorded v1 without `cancelledBy`. */
const cancelled = (jobId: string, extra: Partial<AuditJobRecordedV1> = {}): Omit<AuditJobRecordedV1, 'schemaVersion'> => ({
  jobId,
  kind: 'verify',
  state: 'cancelled',
  requestedBy: ASKER,
  requestedAt: '2026-11-20T10:00:00.000Z',
  startedAt: '2026-11-20T10:00:01.000Z',
  endedAt: '2026-11-20T10:05:00.000Z',
  positionThrough: '12',
  params: {},
  findings: {},
  error: 'cancelled',
  ...extra,
});

/**
 * Cancelled jobs' records made before their end said who ended it (v1 without `cancelledBy`) read as
 * they did: GET /jobs/recorded says cancelledBy from the end's actor when that is another key than
 * the asker; one ended by its asker (or, then, at shutdown: recorded with the asker's actor) says
 * none, as does one whose actor the read models did not keep. A record made since says its own.
 */
describe('recorded jobs cancelled before their record said who ended them', () => {
  let dir: string;
  let store: SqliteEventStore;
  afterEach(async () => {
    await store.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('take cancelledBy from the end\'s actor when another key ended it, none when the asker did or the actor is not known; a newer record keeps its own', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ledger-recorded-jobs-'));
    store = new SqliteEventStore(path.join(dir, 'ledger.sqlite'));
    const ledger = new Ledger(store, getRuleSet('baseline'));
    await ledger.recordAuditJob(cancelled('by-other'), { actor: OTHER });
    await ledger.recordAuditJob(cancelled('by-asker'), { actor: ASKER });
    await ledger.recordAuditJob(cancelled('not-kept'), { actor: OTHER });
    await ledger.recordAuditJob(cancelled('newer', { cancelledBy: ASKER }), { actor: ASKER });
    const writer = openReadModels(path.join(dir, 'read-models.sqlite'));
    try {
      await new Projector(store, writer).catchUp();
      // As a build before the read models kept actors left its row (see actors.ts).
      writer.db.db.prepare('UPDATE audit_jobs SET actor = ? WHERE job_id = ?').run(ACTOR_NOT_KEPT, 'not-kept');
      const items = queriesOf(writer).auditJobs.auditJobs().items;
      expect(items.map((j) => [j.jobId, j.actor, j.actorUnknown, j.cancelledBy])).toEqual([
        ['newer', ASKER, undefined, ASKER],
        ['not-kept', null, true, undefined],
        ['by-asker', ASKER, undefined, undefined],
        ['by-other', OTHER, undefined, OTHER],
      ]);
    } finally {
      writer.db.db.close();
    }
  });
});
