import { Body, Controller, Get, HttpCode, Inject, NotFoundException, Param, Post, Query, Req } from '@nestjs/common';
import { ApiOperation, ApiQuery, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { replayDecision } from '@ledger/audit';
import { formatRequestId, getRuleSet, parseRequestId } from '@ledger/domain';
import { EVENT_STORE, type EventStore } from '@ledger/event-store';
import { FINDINGS_LISTED } from '@ledger/event-store/hash-chain';
import { AuditJobQueries, DecisionQueries, IntegrityQueries, Projector, ReadModelDb, rowDamaged } from '@ledger/projections';
import { actorOf, Roles } from './api-keys';
import { jobParams, JobService, refuseDigestPastHead, WhatIfDto } from './jobs.controller';

@ApiTags('audit')
@ApiSecurity('api-key')
@Controller()
@Roles('auditor')
export class AuditController {

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly decisions: DecisionQueries,
    private readonly integrity: IntegrityQueries,
    private readonly auditJobs: AuditJobQueries,
    private readonly readModels: ReadModelDb,
    private readonly projector: Projector,
    private readonly jobs: JobService,
  ) {}

  @Post('decisions/:requestId/replay')
  @HttpCode(200)
  @ApiOperation({ summary: 'Replay a decision on the state as of the revisions it recorded; with ruleSet, a what-if for that decision' })
  @ApiQuery({ name: 'ruleSet', required: false })
  async replay(@Param('requestId') raw: string, @Query('ruleSet') ruleSet?: string) {
    const requestId = formatRequestId(parseRequestId(raw, 'requestId'));
    const row = this.decisions.decision(requestId);
    if (!row) throw new NotFoundException(`no decision is recorded for ${requestId}`);
    const rs = ruleSet ? getRuleSet(ruleSet) : undefined;
    return replayDecision(this.store, row.decision, rs, row.position, rowDamaged(row));
  }

  @Post('replays')
  @HttpCode(200)
  @ApiOperation({ summary: 'Re-judge every recorded decision in range under a rule set: a what-if job, awaited (POST /jobs to start one and poll instead)' })
  async replays(@Body() body: WhatIfDto, @Req() req: { apiActor?: string }) {
    // One window of a what-if run window by window (the console's) is a part, not a run: not recorded.
    const window = body.fromPosition !== undefined || body.toPosition !== undefined || body.maxEvents !== undefined;
    return this.jobs.run('what-if', jobParams({ ...body, kind: 'what-if' }), actorOf(req), !window);
  }

  @Get('audit/verify')
  @ApiOperation({ summary: 'Walk the store and report the first 20 breaks (the first broken hash-chain link of each stream, each stored text not as the ledger wrote it), unreadable events and runs of missing positions, in log order, and the count of each: a verify job, awaited' })
  verify(@Req() req: { apiActor?: string }) {
    return this.jobs.run('verify', {}, actorOf(req));
  }

  @Get('audit/verify/incremental')
  @ApiOperation({ summary: 'The hash chain as checked while projecting, through the read models\' checkpoint (the first 20 breaks and runs of missing positions, in log order, and the count of each), and the digest of the checked heads: no read of the log' })
  async verifyIncremental() {
    const report = this.integrity.incrementalVerification();
    const halted = this.projector.halted;
    // A halt at an event names its stream: an unreadable event. One that names none is read models of another log (a restored store).
    const unreadable = halted?.stream !== undefined ? [halted] : [];
    const unchecked = report.verifiedThrough === null ? await this.nothingChecked() : undefined;
    // The log's last events deleted: named missing as the full verify names them, from the store's log_head, once the read models
    // have checked through the table's last (until the seventeenth session's final read, the full verify alone named them).
    // A tail lost to damage (its cells gone from the table, its index still holding them) is damage, not a deletion: said so, as the
    // full verify does (the count of table against index, once a head, only where such a tail is).
    const tail = this.store.positionsMissingAtEnd?.();
    const damage = tail ? this.store.indexDisagreement?.() : undefined;
    const atEnd = tail && !damage && report.verifiedThrough !== null && BigInt(report.verifiedThrough) >= tail.from - 1n ? { from: tail.from.toString(), to: tail.to.toString() } : undefined;
    const missing = atEnd ? { missing: report.missing.length < FINDINGS_LISTED ? [...report.missing, atEnd] : report.missing, missingCount: report.missingCount + 1 } : {};
    return { ...report, ...missing, ok: report.ok && !atEnd && !damage && !halted && !unchecked, unreadable, ...(damage ? { damaged: { message: damage.message } } : {}), ...(halted && halted.stream === undefined ? { halted } : {}), ...(unchecked ? { unchecked } : {}) };
  }

  /** Read models that checked no event of a store that holds some (emptied, or the projector behind or failing from the start) have verified nothing: why, as /health says it. */
  private async nothingChecked(): Promise<{ storeHead: string; reason: string } | undefined> {
    const head = await this.store.headPosition();
    if (head === undefined) return undefined;
    const failing = this.projector.failing;
    const why = failing ? `the projector is failing since ${failing.since} (${failing.reason})` : this.projector.halted ? 'the projector has halted' : 'the projector has not yet projected any of it';
    return { storeHead: head.toString(), reason: `the read models have checked no event of the store, which holds events through position ${head}: ${why}; see GET /health` };
  }

  @Get('audit/verify/last')
  @ApiOperation({ summary: 'The last verification recorded in the store (when, events checked, the first 20 breaks, unreadable events and runs of missing positions, in log order, and the count of each; one that met damage, what it found before it and `damaged`), or {none: true}' })
  lastVerify() {
    // The last verification that ran to its end, or met damage (what it found before it, with the damage: since 2026-11-28), a cancelled,
    // otherwise failed or not-run one having found nothing, however many of those followed it
    // (until the fourteenth session's final read only among the 50 newest: fifty refused during a lock hid it).
    const job = this.auditJobs.lastFound('verify');
    if (!job) return { none: true };
    const f = job.findings as { ok: boolean; eventsChecked: number; streamsChecked: number; firstBreaks: unknown[]; firstUnreadable: unknown[]; breaks: number; streamsBroken?: number; unreadable: number; missing?: number; firstMissing?: unknown[]; damaged?: unknown };
    return {
      ok: f.ok,
      eventsChecked: f.eventsChecked,
      streamsChecked: f.streamsChecked,
      breaks: f.firstBreaks,
      unreadable: f.firstUnreadable,
      missing: f.firstMissing ?? [],
      // The lists are the first 20 of each, as the job's record keeps them; the counts are all it found.
      breakCount: f.breaks,
      // The streams broken, as GET /audit/verify counts them: a record made before 2026-11-27 (fifteenth session) lacks it.
      ...(f.streamsBroken === undefined ? {} : { streamsBroken: f.streamsBroken }),
      unreadableCount: f.unreadable,
      missingCount: f.missing ?? 0,
      at: job.startedAt ?? job.requestedAt,
      seconds: (Date.parse(job.endedAt) - Date.parse(job.startedAt ?? job.requestedAt)) / 1000,
      positionThrough: job.positionThrough,
      requestedBy: job.requestedBy,
      // The damage that ended it (its message, and the last position it checked: positionThrough), as GET /audit/verify answers it.
      ...(f.damaged === undefined ? {} : { damaged: f.damaged }),
    };
  }

  @Get('audit/digest')
  @ApiOperation({ summary: 'A digest of every stream head at a position, for an auditor to keep: a digest job, awaited' })
  @ApiQuery({ name: 'at', required: false, description: 'position (default: the head)' })
  async digest(@Req() req: { apiActor?: string }, @Query('at') at?: string) {
    return this.jobs.run('digest', await refuseDigestPastHead(this.store, jobParams({ kind: 'digest', at })), actorOf(req));
  }

  @Post('admin/rebuild')
  @HttpCode(200)
  @Roles('admin')
  @ApiOperation({ summary: 'Rebuild the read models from the start of the store: a rebuild job (on a worker, into a new file swapped in when done), awaited (admin)' })
  async rebuild(@Req() req: { apiActor?: string }) {
    const r = (await this.jobs.run('rebuild', jobParams({ kind: 'rebuild' }, this.readModels.file), actorOf(req))) as { events: number; seconds: number; checkThread?: string; replaced?: unknown };
    return { events: r.events, seconds: r.seconds, ...(r.checkThread ? { checkThread: r.checkThread } : {}), ...(r.replaced ? { replaced: r.replaced } : {}) };
  }

}
