import { Body, Controller, Get, HttpCode, Inject, NotFoundException, Param, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiProperty, ApiPropertyOptional, ApiQuery, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { digestAt, replayDecision, verifyStore, whatIf, type VerifyReport } from '@ledger/audit';
import { DomainError, formatRequestId, getRuleSet, parseDeviceId, parseInstant, parseRequestId, parseUserId } from '@ledger/domain';
import { EVENT_STORE, type EventStore } from '@ledger/event-store';
import { Projector, ReadModels } from '@ledger/projections';
import { Roles } from './api-keys';

export class WhatIfDto {
  @ApiProperty({ enum: ['baseline', 'ownership-only', 'registered-operator'] }) @IsString() ruleSet!: string;
  @ApiPropertyOptional({ description: 'receivedAt from (ISO-8601)' }) @IsOptional() @IsString() from?: string;
  @ApiPropertyOptional({ description: 'receivedAt to (ISO-8601)' }) @IsOptional() @IsString() to?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() srv?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() device?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() user?: string;
  @ApiPropertyOptional({ default: 0 }) @IsOptional() @IsInt() @Min(0) offset?: number;
  @ApiPropertyOptional({ default: 100 }) @IsOptional() @IsInt() @Min(1) @Max(1000) limit?: number;
  @ApiPropertyOptional({ description: 'read the log from this position (inclusive), as a decimal string' }) @IsOptional() @Matches(/^\d{1,40}$/, { message: 'must be a position (a whole number, as a string)' }) fromPosition?: string;
  @ApiPropertyOptional({ description: 'read the log up to this position (inclusive)' }) @IsOptional() @Matches(/^\d{1,40}$/, { message: 'must be a position (a whole number, as a string)' }) toPosition?: string;
  @ApiPropertyOptional({ description: 'read at most this many events (the reply says where to go on: window.nextPosition)' }) @IsOptional() @IsInt() @Min(1) @Max(1_000_000) maxEvents?: number;
}

@ApiTags('audit')
@ApiSecurity('api-key')
@Controller()
@Roles('auditor')
export class AuditController {
  /** The last verification this process ran, for the console's Integrity page (not kept across restarts). */
  private lastVerification?: VerifyReport & { at: string; seconds: number };

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly readModels: ReadModels,
    private readonly projector: Projector,
  ) {}

  @Post('decisions/:requestId/replay')
  @HttpCode(200)
  @ApiOperation({ summary: 'Replay a decision on the state as of the revisions it recorded; with ruleSet, a what-if for that decision' })
  @ApiQuery({ name: 'ruleSet', required: false })
  async replay(@Param('requestId') raw: string, @Query('ruleSet') ruleSet?: string) {
    const requestId = formatRequestId(parseRequestId(raw, 'requestId'));
    const row = this.readModels.decision(requestId);
    if (!row) throw new NotFoundException(`no decision is recorded for ${requestId}`);
    return replayDecision(this.store, row.decision, ruleSet ? getRuleSet(ruleSet) : undefined);
  }

  @Post('replays')
  @HttpCode(200)
  @ApiOperation({ summary: 'Re-judge every recorded decision in range under a rule set (streams through the log)' })
  async replays(@Body() body: WhatIfDto) {
    const ruleSet = getRuleSet(body.ruleSet);
    const filter = {
      from: body.from ? parseInstant(body.from, 'from') : undefined,
      to: body.to ? parseInstant(body.to, 'to') : undefined,
      srv: body.srv,
      deviceId: body.device ? parseDeviceId(body.device, 'device') : undefined,
      userId: body.user ? parseUserId(body.user, 'user') : undefined,
    };
    return whatIf(this.store, ruleSet, filter, {
      offset: body.offset,
      limit: body.limit,
      fromPosition: body.fromPosition === undefined ? undefined : BigInt(body.fromPosition),
      toPosition: body.toPosition === undefined ? undefined : BigInt(body.toPosition),
      maxEvents: body.maxEvents,
    });
  }

  @Get('audit/verify')
  @ApiOperation({ summary: "Walk the store and report the first broken hash-chain link of each stream" })
  async verify() {
    const started = Date.now();
    const at = new Date(started).toISOString();
    const report = await verifyStore(this.store);
    this.lastVerification = { ...report, at, seconds: (Date.now() - started) / 1000 };
    return report;
  }

  @Get('audit/verify/last')
  @ApiOperation({ summary: 'The last verification this API process ran (when, events checked, breaks), or {none: true}' })
  lastVerify() {
    return this.lastVerification ?? { none: true };
  }

  @Get('audit/digest')
  @ApiOperation({ summary: 'A digest of every stream head at a position, for an auditor to keep' })
  @ApiQuery({ name: 'at', required: false, description: 'position (default: the head)' })
  digest(@Query('at') at?: string) {
    if (at !== undefined && !/^\d+$/.test(at)) throw new DomainError('at', 'must be a position (a whole number)');
    return digestAt(this.store, at === undefined ? undefined : BigInt(at));
  }

  @Post('admin/rebuild')
  @HttpCode(200)
  @Roles('admin')
  @ApiOperation({ summary: 'Drop the read models and rebuild them from the start of the store (admin)' })
  async rebuild() {
    const started = Date.now();
    const events = await this.projector.rebuild();
    return { events, seconds: (Date.now() - started) / 1000 };
  }
}
