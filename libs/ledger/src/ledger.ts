import {
  auditJobStream,
  deviceStream,
  DomainError,
  evaluate,
  evolveDevice,
  evolveMeterPoint,
  evolveUser,
  formatRequestId,
  meterPointStream,
  parseCertificateIdentity,
  parseDeviceId,
  parseInstant,
  parseInventoryMpxn,
  parseMpxn,
  parseUserId,
  parseRegisteredRole,
  recordRequest,
  requestDifferences,
  userStream,
  DEVICE_STATUSES,
  DEVICE_TYPES,
  SLOT_KEYS,
  USER_STATUSES,
  type AuditJobRecordedV1,
  type CertificatePlacedV1,
  type DeviceState,
  type LedgerEvent,
  type MeterPointState,
  type PlacedVia,
  type RuleSet,
  type ServiceRequest,
  type ServiceRequestEvaluatedV1,
  type SlotKey,
  type UserState,
} from '@ledger/domain';
import { EventIdConflictError, WrongExpectedRevisionError, type EventStore } from '@ledger/event-store';
import { KeyedQueue } from '@ledger/event-store';
import { StreamCache, type FoldedStream } from './stream-cache';
import { appendAfter, loadStream, nameUuid, toLedgerEvent, type CommandContext } from './streams';

/** What a command did: `written` false when the same fact was already recorded (a retry). */
export interface CommandResult {
  stream: string;
  written: boolean;
  position: string | null;
  revision: string | null;
}

export interface SubmitResult {
  decision: ServiceRequestEvaluatedV1;
  placed: CertificatePlacedV1[];
  /** False when the RequestID had been decided before: the recorded decision is returned, nothing is written. */
  written: boolean;
  position: string;
  stream: string;
}

/** Attempts at one command when writers in other processes keep moving its stream. */
const MAX_ATTEMPTS = 20;

/**
 * A command's stream kept moving under it, written by other processes, through every attempt.
 * Nothing was written for it; the client may send it again (a 503 in the API).
 */
export class StreamContentionError extends Error {
  override readonly name = 'StreamContentionError';
  constructor(readonly stream: string, readonly attempts: number) {
    super(`stream '${stream}' was changed by other writers during each of ${attempts} attempts; nothing was written for this command: send it again`);
  }
}

/** A conflict another writer caused: read the stream again and decide again. */
function isConflict(err: unknown): boolean {
  return err instanceof WrongExpectedRevisionError || err instanceof EventIdConflictError;
}

/** Jittered exponential back-off before attempt `attempt` + 1 (1 ms up to ~100 ms). */
function backOff(attempt: number): Promise<void> {
  const ceiling = Math.min(100, 2 ** Math.min(attempt, 7));
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
}

/** A RequestID already decided, sent again with other content: refused, since counters are unique per originator. */
export class RequestIdReusedError extends Error {
  override readonly name = 'RequestIdReusedError';
  constructor(readonly requestId: string, readonly differences: string[]) {
    super(`requestId: ${requestId} was already decided for a different request (it differs in ${differences.join(', ')}); a RequestID's counter is used once`);
  }
}

/**
 * The command handlers: read the streams a command needs, decide with the pure domain, append
 * the outcome with the revision read as the expected revision, and on a conflict read and decide
 * again. Event ids derive from the fact (a RequestID, an RDP record id), so a retried command
 * writes nothing new.
 */
export class Ledger {
  private readonly streams: StreamCache;
  /** Commands queued per stream they append to: one at a time per stream in this process. */
  private readonly queue = new KeyedQueue();

  constructor(
    readonly store: EventStore,
    readonly ruleSet: RuleSet,
  ) {
    this.streams = new StreamCache(store);
  }

  async registerUserRole(input: { userId: unknown; role: unknown; status?: unknown; marketIds?: unknown; effectiveFrom: unknown }, ctx: CommandContext): Promise<CommandResult> {
    const userId = parseUserId(input.userId, 'userId');
    const role = parseRegisteredRole(input.role, 'role');
    const status = input.status ?? 'Active';
    if (!(USER_STATUSES as readonly unknown[]).includes(status)) throw new DomainError('status', `'${String(status)}' is not one of ${USER_STATUSES.join(', ')}`);
    const marketIds = input.marketIds ?? [];
    if (!Array.isArray(marketIds) || !marketIds.every((m) => typeof m === 'string')) throw new DomainError('marketIds', 'must be a list of strings');
    const effectiveFrom = parseInstant(input.effectiveFrom, 'effectiveFrom');
    const event: LedgerEvent = { type: 'UserRoleRegistered', data: { schemaVersion: 1, userId, role, status: status as (typeof USER_STATUSES)[number], marketIds, effectiveFrom } };
    return this.appendOnce(userStream(userId), evolveUser, `user:${userId}:${role}:${String(status)}:${effectiveFrom}:${marketIds.join(',')}`, event, ctx);
  }

  async changeInventory(input: { deviceId: unknown; deviceType: unknown; smetsGeneration: unknown; status: unknown; mpxn?: unknown; changedAt: unknown }, ctx: CommandContext): Promise<CommandResult> {
    const deviceId = parseDeviceId(input.deviceId, 'deviceId');
    if (!(DEVICE_TYPES as readonly unknown[]).includes(input.deviceType)) throw new DomainError('deviceType', `'${String(input.deviceType)}' is not one of ${DEVICE_TYPES.join(', ')}`);
    if (input.smetsGeneration !== 1 && input.smetsGeneration !== 2) throw new DomainError('smetsGeneration', 'must be 1 or 2');
    if (!(DEVICE_STATUSES as readonly unknown[]).includes(input.status)) throw new DomainError('status', `'${String(input.status)}' is not one of ${DEVICE_STATUSES.join(', ')}`);
    const mpxn = input.mpxn === undefined || input.mpxn === null ? null : parseInventoryMpxn(input.mpxn, 'mpxn');
    const changedAt = parseInstant(input.changedAt, 'changedAt');
    const event: LedgerEvent = {
      type: 'DeviceInventoryChanged',
      data: { schemaVersion: 1, deviceId, deviceType: input.deviceType as DeviceState['deviceType'] & string, smetsGeneration: input.smetsGeneration, status: input.status as (typeof DEVICE_STATUSES)[number], mpxn, changedAt },
    };
    return this.appendOnce(deviceStream(deviceId), evolveDevice, `inventory:${deviceId}:${changedAt}:${String(input.status)}:${mpxn}:${String(input.deviceType)}:${input.smetsGeneration}`, event, ctx);
  }

  /** One Registration Data change; idempotent by (MPxN, record id). */
  async recordRegistration(
    input: { mpxn: unknown; responsibility: unknown; partyUserId: unknown; effectiveFrom: unknown; recordId: unknown; file?: string; line?: number },
    ctx: CommandContext,
  ): Promise<CommandResult> {
    const mpxn = parseMpxn(input.mpxn, 'mpxn');
    if (input.responsibility !== 'supplier' && input.responsibility !== 'networkOperator') throw new DomainError('responsibility', "must be 'supplier' or 'networkOperator'");
    const partyUserId = parseUserId(input.partyUserId, 'partyUserId');
    const effectiveFrom = parseInstant(input.effectiveFrom, 'effectiveFrom');
    if (typeof input.recordId !== 'string' || input.recordId.trim() === '') throw new DomainError('recordId', 'must be the RDP record id');
    const source: { recordId: string; file?: string; line?: number } = { recordId: input.recordId.trim() };
    if (input.file) source.file = input.file;
    if (input.line) source.line = input.line;
    const event: LedgerEvent = { type: 'RegistrationChanged', data: { schemaVersion: 1, mpxn, responsibility: input.responsibility, partyUserId, effectiveFrom, source } };
    return this.appendOnce(meterPointStream(mpxn), evolveMeterPoint, `registration:${mpxn}:${source.recordId}`, event, ctx);
  }

  /** Certificates placed by proxy outside a request: at migration, or by an operator's correction. */
  async placeCertificate(
    input: { deviceId: unknown; slot: unknown; certificate: unknown; heldBy?: unknown; via: { kind: 'migration' | 'operatorCorrection'; reference?: string }; placedAt: unknown },
    ctx: CommandContext,
  ): Promise<CommandResult> {
    const deviceId = parseDeviceId(input.deviceId, 'deviceId');
    if (!(SLOT_KEYS as readonly unknown[]).includes(input.slot)) throw new DomainError('slot', `'${String(input.slot)}' is not one of ${SLOT_KEYS.join(', ')}`);
    const certificate = parseCertificateIdentity(input.certificate, 'certificate');
    const heldBy = (input.heldBy ?? ['DSP', 'S1SP']) as unknown[];
    if (!Array.isArray(heldBy) || heldBy.length === 0 || !heldBy.every((h) => h === 'DSP' || h === 'S1SP')) throw new DomainError('heldBy', "must list 'DSP' and/or 'S1SP'");
    if (input.via.kind === 'operatorCorrection' && !input.via.reference) throw new DomainError('via.reference', 'an operator correction must name its reference');
    const via: PlacedVia = input.via.kind === 'migration' ? { kind: 'migration', ...(input.via.reference ? { reference: input.via.reference } : {}) } : { kind: 'operatorCorrection', reference: input.via.reference! };
    const placedAt = parseInstant(input.placedAt, 'placedAt');
    const slot = input.slot as SlotKey;
    const expectedUsage = slot.endsWith('.critical') ? 'digitalSignature' : 'keyAgreement';
    if (certificate.keyUsage !== expectedUsage) throw new DomainError('certificate.keyUsage', `the ${slot} slot holds a ${expectedUsage} certificate, not ${certificate.keyUsage}`);
    const event: LedgerEvent = { type: 'CertificatePlaced', data: { schemaVersion: 1, deviceId, slot, certificate, heldBy: heldBy as Array<'DSP' | 'S1SP'>, via, placedAt } };
    return this.appendOnce(deviceStream(deviceId), evolveDevice, `placed:${deviceId}:${slot}:${certificate.issuer}:${certificate.serial}:${heldBy.join('+')}:${placedAt}`, event, ctx);
  }

  /** Records an audit job that ended (idempotent by job id), in a stream of its own. */
  async recordAuditJob(record: Omit<AuditJobRecordedV1, 'schemaVersion'>, ctx: CommandContext): Promise<CommandResult> {
    const event: LedgerEvent = { type: 'AuditJobRecorded', data: { schemaVersion: 1, ...record } };
    return this.appendOnce(auditJobStream(record.jobId), (s: AuditJobRecordedV1 | undefined, e) => (e.type === 'AuditJobRecorded' ? e.data : s), `auditjob:${record.jobId}`, event, ctx);
  }

  /**
   * Judges a service request and records the decision (and any certificates it places) atomically
   * on the device stream. A RequestID already decided returns the recorded decision.
   */
  async submit(req: ServiceRequest, ctx: CommandContext): Promise<SubmitResult> {
    const stream = deviceStream(req.requestId.target);
    return this.queue.run(stream, () => this.decideAndRecord(req, stream, ctx));
  }

  private async decideAndRecord(req: ServiceRequest, stream: string, ctx: CommandContext): Promise<SubmitResult> {
    const requestId = formatRequestId(req.requestId);
    const decisionId = nameUuid(`decision:${requestId}`);
    const context = { ...ctx, correlationId: ctx.correlationId ?? decisionId, causationId: ctx.causationId ?? decisionId };
    for (let attempt = 1; ; attempt++) {
      const device = await this.streams.load<DeviceState>(stream, evolveDevice);
      if (device.ids.has(decisionId)) {
        const recorded = await this.recordedDecision(stream, decisionId);
        const differences = requestDifferences(recorded.decision.request, recordRequest(req));
        if (differences.length > 0) throw new RequestIdReusedError(requestId, differences);
        return recorded;
      }
      const mpxn = device.state?.mpxn;
      const [user, meterPoint] = await Promise.all([
        this.streams.load<UserState>(userStream(req.requestId.originator), evolveUser),
        mpxn ? this.streams.load<MeterPointState>(meterPointStream(mpxn), evolveMeterPoint) : Promise.resolve(undefined),
      ]);
      const revisionsRead: Record<string, string | null> = { [user.stream]: rev(user), [stream]: rev(device) };
      if (meterPoint) revisionsRead[meterPoint.stream] = rev(meterPoint);
      const { decision, placed } = evaluate(req, { sender: user.state, device: device.state, meterPoint: meterPoint?.state, revisionsRead }, this.ruleSet, req.receivedAt);
      const events = [
        { ...decision, id: decisionId },
        ...placed.map((p, i) => ({ ...p, id: nameUuid(`placed:${requestId}:${i}`) })),
      ];
      try {
        const r = await appendAfter(this.store, device, events, context);
        if (r.written) {
          this.streams.appended(device, r.events, evolveDevice, r.nextExpectedRevision);
          return { decision: decision.data, placed: placed.map((p) => p.data), written: true, position: r.position.toString(), stream };
        }
        // Not written by this call: the same events were there already. Read again, answer with the record.
      } catch (err) {
        if (!isConflict(err)) throw err;
        if (attempt >= MAX_ATTEMPTS) throw new StreamContentionError(stream, attempt);
        await backOff(attempt);
      }
    }
  }

  /** The recorded answer to a RequestID decided before: its decision and the placements appended with it (read from the store). */
  private async recordedDecision(stream: string, decisionId: string): Promise<SubmitResult> {
    const { events } = await loadStream(this.store, stream, evolveDevice);
    const at = events.findIndex((e) => e.id === decisionId);
    const decisionEvent = events[at];
    const placed: CertificatePlacedV1[] = [];
    let last = decisionEvent;
    for (const e of events.slice(at + 1)) {
      if (e.type !== 'CertificatePlaced' || e.metadata.$correlationId !== decisionEvent.metadata.$correlationId) break;
      placed.push(toLedgerEvent(e).data as CertificatePlacedV1);
      last = e;
    }
    // The position of the append's last event, as the reply to the first submission gave it.
    return { decision: toLedgerEvent(decisionEvent).data as ServiceRequestEvaluatedV1, placed, written: false, position: last.position.toString(), stream };
  }

  /** Appends one event whose id derives from `name`, unless the stream already holds it. */
  private appendOnce<S>(stream: string, evolve: (s: S | undefined, e: LedgerEvent) => S | undefined, name: string, event: LedgerEvent, ctx: CommandContext): Promise<CommandResult> {
    return this.queue.run(stream, () => this.appendOnceQueued(stream, evolve, name, event, ctx));
  }

  private async appendOnceQueued<S>(stream: string, evolve: (s: S | undefined, e: LedgerEvent) => S | undefined, name: string, event: LedgerEvent, ctx: CommandContext): Promise<CommandResult> {
    const id = nameUuid(name);
    for (let attempt = 1; ; attempt++) {
      const loaded = await this.streams.load<S>(stream, evolve);
      if (loaded.ids.has(id)) {
        const existing = (await loadStream(this.store, stream, evolve)).events.find((e) => e.id === id)!;
        return { stream, written: false, position: existing.position.toString(), revision: existing.revision.toString() };
      }
      try {
        const r = await appendAfter(this.store, loaded, [{ ...event, id }], ctx);
        if (r.written) {
          this.streams.appended(loaded as FoldedStream<S>, r.events, evolve, r.nextExpectedRevision);
          return { stream, written: true, position: r.position.toString(), revision: r.nextExpectedRevision.toString() };
        }
      } catch (err) {
        if (!isConflict(err)) throw err;
        if (attempt >= MAX_ATTEMPTS) throw new StreamContentionError(stream, attempt);
        await backOff(attempt);
      }
    }
  }
}

function rev(loaded: { revision: bigint | undefined }): string | null {
  return loaded.revision === undefined ? null : loaded.revision.toString();
}

