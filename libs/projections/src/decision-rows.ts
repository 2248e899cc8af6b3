import { decodeDecision, deviceStream, storedData, upcast, type DecisionRecordV3, type LedgerEvent, type ServiceRequestEvaluatedV1 } from '@ledger/domain';
import type { RecordedEvent } from '@ledger/event-store';

/**
 * What the `decisions` read model keeps of a decision: its columns (request id, device, sender,
 * SRV, outcome, response code, rule set, received and evaluated at: what the queries filter on)
 * and, in `data`, the rest of the decision's stored form (schema version 3: the request's other
 * fields, the sender's role, the revisions read, the checks), not the decision again. A decision
 * the stored form cannot give back exactly (decision-record.ts in the domain says when) is kept whole.
 */
type Stored = Partial<DecisionRecordV3> & Record<string, unknown>;

/** The `data` of a decision's row: its stored form less what the row's columns hold. */
export function decisionRowData(recorded: RecordedEvent, event: Extract<LedgerEvent, { type: 'ServiceRequestEvaluated' }>): string {
  const stored = ((recorded.data as Stored).schemaVersion === 3 ? recorded.data : storedData(event)) as Stored;
  if (stored.schemaVersion !== 3) return JSON.stringify(stored);
  const { schemaVersion: _v, requestId: _id, srv: _srv, receivedAt: _at, evaluatedAt: _eat, ruleSet: _rs, responseCode: _code, ...rest } = stored;
  return JSON.stringify(rest);
}

/**
 * A row of the read models that does not give back its decision: the read-model file was damaged
 * or edited (the projector writes only decisions that decode, and halts on one that does not), or
 * the store's event was removed, moved or edited with its chain recomputed since the row was
 * projected, which only verify (and a digest kept before) can tell apart: a rebuild mends the row
 * once the store verifies. (An edit of the store's event that breaks its hash is named as the
 * store's: replayDecision's checkCopy.)
 */
export class ReadModelRowError extends Error {
  constructor(
    readonly table: string,
    readonly key: string,
    readonly position: string,
    readonly reason: string,
  ) {
    super(`the read models' ${table} row of ${key} (position ${position}) does not give back its decision (${reason}): the read-model file is damaged, or the store was changed behind the ledger's back since the row was projected; verify the store (ledger verify), then rebuild the read models from it (ledger rebuild, or a rebuild job)`);
  }
}

/**
 * The error for a row whose decision's recorded request does not validate where the store's own
 * event does (replayDecision's `copyDamaged`): the row's damage, a ReadModelRowError (a 500 naming
 * the row and saying to rebuild), not a 400 as if the caller's input were wrong.
 */
export function rowDamaged(row: { requestId: string; position: string }): (reason: string) => ReadModelRowError {
  return (reason) => new ReadModelRowError('decisions', row.requestId, row.position, reason);
}

/** The decision of a row: its columns and `data` put back together, as the store's event reads; a row that does not decode is a ReadModelRowError. */
export function decisionOfRow(r: Record<string, string>): ServiceRequestEvaluatedV1 {
  try {
    return decisionOf(r);
  } catch (err) {
    throw new ReadModelRowError('decisions', r.request_id, r.position, err instanceof Error ? err.message : String(err));
  }
}

function decisionOf(r: Record<string, string>): ServiceRequestEvaluatedV1 {
  const data = JSON.parse(r.data) as Stored;
  if (data.schemaVersion !== undefined) return upcast('ServiceRequestEvaluated', data, deviceStream(r.device_id)).data as ServiceRequestEvaluatedV1;
  const counter = r.request_id.slice(r.request_id.lastIndexOf(':') + 1);
  const record = {
    ...data,
    schemaVersion: 3,
    requestId: `${r.originator}::${counter}`,
    srv: r.srv,
    receivedAt: r.received_at,
    evaluatedAt: r.evaluated_at,
    ruleSet: r.rule_set,
    responseCode: r.response_code,
  } as DecisionRecordV3;
  return decodeDecision(record, r.device_id);
}
