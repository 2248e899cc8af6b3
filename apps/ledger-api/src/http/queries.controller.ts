import { Controller, Get, NotFoundException, Param, Query } from '@nestjs/common';
import { ApiOperation, ApiQuery, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { DomainError, getRuleSet, parseDeviceId, parseInstant, parseMpxn, parseRequestId, formatRequestId, parseUserId } from '@ledger/domain';
import { ReadModels } from '@ledger/projections';
import { Roles } from './api-keys';

const instant = (v: string | undefined, field: string) => (v === undefined || v === '' ? undefined : parseInstant(v, field));

/** Every answer comes from the read models, never from a scan of the log. */
@ApiTags('queries')
@ApiSecurity('api-key')
@Controller()
@Roles('auditor')
export class QueriesController {
  constructor(private readonly readModels: ReadModels) {}

  @Get('devices/:deviceId')
  @ApiOperation({ summary: "A device's inventory record and the certificates held for it by proxy, now or as of an instant" })
  @ApiQuery({ name: 'asOf', required: false, description: 'ISO-8601 instant' })
  device(@Param('deviceId') id: string, @Query('asOf') asOf?: string) {
    const deviceId = parseDeviceId(id, 'deviceId');
    const at = instant(asOf, 'asOf');
    const device = this.readModels.device(deviceId, at);
    if (!device) throw new NotFoundException(`device ${deviceId} is not known to the ledger`);
    return { ...(at ? { asOf: at } : {}), ...device };
  }

  @Get('devices/:deviceId/history')
  @ApiOperation({ summary: "A device's inventory changes, certificate placements and decisions as one timeline" })
  history(@Param('deviceId') id: string) {
    const deviceId = parseDeviceId(id, 'deviceId');
    const timeline = this.readModels.history(deviceId);
    if (timeline.length === 0) throw new NotFoundException(`device ${deviceId} is not known to the ledger`);
    return { deviceId, timeline };
  }

  @Get('meter-points/:mpxn/registrations')
  @ApiOperation({ summary: "A meter point's Registration Data over time, and who was registered at `asOf`" })
  @ApiQuery({ name: 'asOf', required: false })
  registrations(@Param('mpxn') raw: string, @Query('asOf') asOf?: string) {
    const mpxn = parseMpxn(raw, 'mpxn');
    const r = this.readModels.registrations(mpxn, instant(asOf, 'asOf'));
    if (!r) throw new NotFoundException(`no Registration Data is held for ${mpxn}`);
    return r;
  }

  @Get('decisions/:requestId')
  @ApiOperation({ summary: 'One recorded decision, with its checks and evidence' })
  decision(@Param('requestId') raw: string) {
    const requestId = formatRequestId(parseRequestId(raw, 'requestId'));
    const d = this.readModels.decision(requestId);
    if (!d) throw new NotFoundException(`no decision is recorded for ${requestId}`);
    return d;
  }

  @Get('decisions')
  @ApiOperation({ summary: 'Recorded decisions, filtered and paged (follow `next` with `after`)' })
  @ApiQuery({ name: 'device', required: false })
  @ApiQuery({ name: 'user', required: false })
  @ApiQuery({ name: 'outcome', required: false, enum: ['accepted', 'rejected'] })
  @ApiQuery({ name: 'code', required: false })
  @ApiQuery({ name: 'srv', required: false })
  @ApiQuery({ name: 'from', required: false })
  @ApiQuery({ name: 'to', required: false })
  @ApiQuery({ name: 'after', required: false })
  @ApiQuery({ name: 'limit', required: false })
  decisions(@Query() q: Record<string, string | undefined>) {
    if (q.outcome && q.outcome !== 'accepted' && q.outcome !== 'rejected') throw new DomainError('outcome', "must be 'accepted' or 'rejected'");
    const int = (v: string | undefined, field: string) => {
      if (v === undefined || v === '') return undefined;
      if (!/^\d+$/.test(v)) throw new DomainError(field, 'must be a whole number');
      return Number(v);
    };
    return this.readModels.decisions({
      deviceId: q.device ? parseDeviceId(q.device, 'device') : undefined,
      userId: q.user ? parseUserId(q.user, 'user') : undefined,
      outcome: q.outcome as 'accepted' | 'rejected' | undefined,
      code: q.code || undefined,
      srv: q.srv || undefined,
      from: instant(q.from, 'from'),
      to: instant(q.to, 'to'),
      after: int(q.after, 'after'),
      limit: int(q.limit, 'limit'),
    });
  }

  @Get('reports/proxy-disagreements')
  @ApiOperation({ summary: 'SMETS1 notified certificate records whose DSP and S1SP copies disagree (an audit finding)' })
  proxyDisagreements() {
    const records = this.readModels.proxyDisagreements();
    return { count: records.length, devices: new Set(records.map((r) => r.deviceId)).size, records };
  }

  @Get('reports/stuck-devices')
  @ApiOperation({ summary: 'SMETS1 devices whose NO certificate owner is not the registered NO; with ruleSet, who could repair each' })
  @ApiQuery({ name: 'ruleSet', required: false, enum: ['baseline', 'ownership-only', 'registered-operator'] })
  @ApiQuery({ name: 'at', required: false, description: 'ISO-8601 instant (default: now)' })
  stuckDevices(@Query('ruleSet') ruleSet?: string, @Query('at') at?: string) {
    const when = instant(at, 'at') ?? new Date().toISOString();
    const rs = ruleSet ? getRuleSet(ruleSet) : undefined;
    const devices = this.readModels.stuckDevices(when, rs);
    return {
      at: when,
      ...(rs ? { ruleSet: { id: rs.id, version: rs.version }, repairable: devices.filter((d) => d.repairable).length } : {}),
      count: devices.length,
      devices,
    };
  }
}
