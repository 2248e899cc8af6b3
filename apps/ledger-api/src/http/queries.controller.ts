import { Controller, Get, Inject, NotFoundException, Param, Query } from '@nestjs/common';
import { ApiOperation, ApiQuery, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { DomainError, getRuleSet, RESPONSE_CODES, RULE_SETS, type RuleSet, parseDeviceId, parseSrv, parseInstant, parseInventoryMpxn, parseMpxn, parseRequestId, formatRequestId, parseUserId } from '@ledger/domain';
import { ProxyDisagreementReport, StuckReports, type StuckRow } from '@ledger/audit';
import { DecisionQueries, DeviceQueries, pageStuck, parseStuckCursor, Projector, RegistrationQueries, STUCK_SORT_KEYS, StuckQueries, UserQueries, type StuckCursor, type StuckQuery, type StuckSortKey } from '@ledger/projections';
import { LEDGER_CONFIG, parseActor, type LedgerConfig } from '@ledger/runtime';
import { Roles } from './api-keys';

const instant = (v: string | undefined, field: string) => (v === undefined ? undefined : parseInstant(v, field));

/** The rule sets a report may be asked under, as getRuleSet reads them: each bare id (its latest version), then each `<id>@<version>`. */
const RULE_SET_NAMES = [...new Set(RULE_SETS.map((r) => r.id)), ...RULE_SETS.map((r) => `${r.id}@${r.version}`)];
const wholeNumber = (v: string | undefined, field: string) => {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new DomainError(field, 'must be a whole number');
  return Number(v);
};

/** A response code to filter by, refused when no decision could carry it (an empty list read as if none were recorded). */
const responseCode = (v: string) => {
  if (!(RESPONSE_CODES as readonly string[]).includes(v)) throw new DomainError('code', `must be one of ${RESPONSE_CODES.join(', ')}`);
  return v;
};

/** An instant range as asked, refused when it ends before it starts (it matched nothing, an empty answer). */
function range<F extends string, T extends string>(from: string | undefined, to: string | undefined, fromField: F, toField: T): Record<F | T, string | undefined> {
  if (from !== undefined && to !== undefined && Date.parse(from) > Date.parse(to)) throw new DomainError(toField, `${to} is before ${fromField} (${from}): the range holds nothing`);
  return { [fromField]: from, [toField]: to } as Record<F | T, string | undefined>;
}

/** A page's size as asked: 1 to 1000, refused otherwise (it was clamped: a limit of 0 answered one row). */
const pageLimit = (v: string | undefined) => {
  const n = wholeNumber(v, 'limit');
  if (n !== undefined && (n < 1 || n > 1000)) throw new DomainError('limit', 'must be a whole number from 1 to 1000');
  return n;
};

/** Every answer comes from the read models (their query services, and the audit's reports over them), never from a scan of the log. */
@ApiTags('queries')
@ApiSecurity('api-key')
@Controller()
@Roles('auditor')
export class QueriesController {
  /**
   * The last few stuck reports computed, by instant, rule set and read-model checkpoint: a report
   * is a pass over every SMETS1 device, and a client paging through one (the console, its CSV
   * export) asks for the same instant again and again. A new event moves the checkpoint, so a
   * cached report is never stale.
   */
  private readonly stuckCache = new Map<string, StuckRow[]>();

  constructor(
    private readonly devices: DeviceQueries,
    private readonly meterPoints: RegistrationQueries,
    private readonly users: UserQueries,
    private readonly decisionLog: DecisionQueries,
    private readonly stuck: StuckQueries,
    private readonly stuckReports: StuckReports,
    private readonly disagreements: ProxyDisagreementReport,
    private readonly projector: Projector,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
  ) {}

  /**
   * The edition the stuck report judges by (stuckStatus): the asked rule set's, else the configured
   * one's (LEDGER_RULE_SET, `<id>@4` during a rollout). Before 5, copies that are one certificate,
   * its issuer spelt two ways, disagree (since 2026-11-28, twenty-first session).
   */
  private stuckEdition(ruleSet: RuleSet | undefined): RuleSet['edition'] {
    return (ruleSet ?? this.config.ruleSet).edition;
  }

  private stuckReport(at: string, ruleSet: RuleSet | undefined): StuckRow[] {
    const edition = this.stuckEdition(ruleSet);
    const key = `${at}|${ruleSet ? `${ruleSet.id}@${ruleSet.version}` : ''}|${edition}|${this.projector.position ?? ''}`;
    let rows = this.stuckCache.get(key);
    if (!rows) {
      rows = this.stuckReports.asOf(at, ruleSet, edition);
      if (this.stuckCache.size >= 4) this.stuckCache.delete(this.stuckCache.keys().next().value!);
    } else this.stuckCache.delete(key);
    this.stuckCache.set(key, rows);
    return rows;
  }

  /** A page of the report now, from the stuck-device projection; with a rule set, who could repair each device of the page. */
  private stuckNow(q: StuckQuery, ruleSet: RuleSet | undefined): { at: string; count: number; offset: number; next: string | null; devices: StuckRow[]; repairableOnPage?: number } {
    const { at, rows, ...page } = this.stuck.now(q, this.stuckEdition(ruleSet));
    if (!ruleSet) return { at, ...page, devices: rows };
    const devices = this.stuckReports.withRepairs(rows, ruleSet, at);
    return { at, ...page, repairableOnPage: devices.filter((d) => d.repairable).length, devices };
  }

  @Get('devices/:deviceId')
  @ApiOperation({ summary: "A device's inventory record and the certificates held for it by proxy, now or as of an instant" })
  @ApiQuery({ name: 'asOf', required: false, description: 'ISO-8601 instant' })
  device(@Param('deviceId') id: string, @Query('asOf') asOf?: string) {
    const deviceId = parseDeviceId(id, 'deviceId');
    const at = instant(asOf, 'asOf');
    const device = this.devices.device(deviceId, at);
    if (!device) throw new NotFoundException(`device ${deviceId} is not known to the ledger`);
    return { ...(at ? { asOf: at } : {}), ...device };
  }

  @Get('devices/:deviceId/history')
  @ApiOperation({ summary: "A device's inventory changes, certificate placements and decisions as one timeline, each with its actor (who recorded it)" })
  @ApiQuery({ name: 'actor', required: false, description: 'an actor as recorded (api:<role>:<id>[:<name>], cli:submit, ...): its entries only; api:<role>:<id> matches that key under every name, its id alone under every role and name' })
  history(@Param('deviceId') id: string, @Query('actor') rawActor?: string) {
    const deviceId = parseDeviceId(id, 'deviceId');
    const actor = rawActor === undefined ? undefined : parseActor(rawActor);
    const history = this.devices.timelineOf(deviceId, actor);
    if (!history) throw new NotFoundException(`device ${deviceId} is not known to the ledger`);
    return history;
  }

  @Get('meter-points/:mpxn/registrations')
  @ApiOperation({ summary: "A meter point's Registration Data over time, and who was registered at `asOf`" })
  @ApiQuery({ name: 'asOf', required: false })
  registrations(@Param('mpxn') raw: string, @Query('asOf') asOf?: string) {
    const mpxn = parseMpxn(raw, 'mpxn');
    const r = this.meterPoints.registrations(mpxn, instant(asOf, 'asOf'));
    if (!r) throw new NotFoundException(`no Registration Data is held for ${mpxn}`);
    return r;
  }

  @Get('meter-points/:mpxn/devices')
  @ApiOperation({ summary: 'The devices the inventory links to a meter point now, a page at a time by device id (`next` while more are left)' })
  @ApiQuery({ name: 'after', required: false, description: 'the `next` of the previous page' })
  @ApiQuery({ name: 'limit', required: false, description: '1 to 1000, default 1000' })
  meterPointDevices(@Param('mpxn') raw: string, @Query('after') after?: string, @Query('limit') limit?: string) {
    const mpxn = parseInventoryMpxn(raw, 'mpxn'); // as the inventory takes it: a DCC test MPAN failing its check digit too
    const page = { after: after === undefined ? undefined : parseDeviceId(after, 'after'), limit: pageLimit(limit) };
    return { mpxn, ...this.devices.devicesOn(mpxn, page) };
  }

  @Get('users/:userId')
  @ApiOperation({ summary: 'A User and the User Roles it holds (its decisions: GET /decisions?user=)' })
  user(@Param('userId') raw: string) {
    const userId = parseUserId(raw, 'userId');
    const u = this.users.user(userId);
    if (!u) throw new NotFoundException(`user ${userId} is not known to the ledger`);
    return u;
  }

  @Get('decisions/:requestId')
  @ApiOperation({ summary: 'One recorded decision, with its checks and evidence' })
  decision(@Param('requestId') raw: string) {
    const requestId = formatRequestId(parseRequestId(raw, 'requestId'));
    const d = this.decisionLog.decision(requestId);
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
  @ApiQuery({ name: 'actor', required: false, description: 'an actor as recorded (api:<role>:<id>[:<name>], cli:submit, ...): its decisions only; api:<role>:<id> matches that key under every name, its id alone under every role and name' })
  @ApiQuery({ name: 'after', required: false })
  @ApiQuery({ name: 'limit', required: false })
  decisions(@Query() q: Record<string, string | undefined>) {
    if (q.outcome !== undefined && q.outcome !== 'accepted' && q.outcome !== 'rejected') throw new DomainError('outcome', "must be 'accepted' or 'rejected'");
    const int = wholeNumber;
    return this.decisionLog.decisions({
      deviceId: q.device === undefined ? undefined : parseDeviceId(q.device, 'device'),
      userId: q.user === undefined ? undefined : parseUserId(q.user, 'user'),
      outcome: q.outcome as 'accepted' | 'rejected' | undefined,
      code: q.code === undefined ? undefined : responseCode(q.code),
      srv: q.srv === undefined ? undefined : parseSrv(q.srv, 'srv').srv,
      ...range(instant(q.from, 'from'), instant(q.to, 'to'), 'from', 'to'),
      actor: q.actor === undefined ? undefined : parseActor(q.actor),
      after: int(q.after, 'after'),
      limit: pageLimit(q.limit),
    });
  }

  @Get('reports/proxy-disagreements')
  @ApiOperation({ summary: 'SMETS1 notified certificate records whose DSP and S1SP copies disagree (an audit finding)' })
  @ApiQuery({ name: 'at', required: false, description: 'ISO-8601 instant: the copies in force then (default: now)' })
  proxyDisagreements(@Query('at') atQuery?: string) {
    const at = instant(atQuery, 'at') ?? new Date().toISOString();
    const records = this.disagreements.records(at);
    return { at, count: records.length, issuerSpeltTwoWays: records.filter((r) => r.issuerSpeltTwoWays).length, devices: new Set(records.map((r) => r.deviceId)).size, records };
  }

  @Get('reports/stuck-devices')
  @ApiOperation({ summary: 'SMETS1 devices whose NO certificate owner is not the registered NO; with ruleSet, who could repair each' })
  @ApiQuery({
    name: 'ruleSet',
    required: false,
    enum: RULE_SET_NAMES,
    description: 'who could repair each device under it, and the rule set the copies are judged by (else LEDGER_RULE_SET): a bare id is its latest version; `<id>@4` judges as rule sets before @5 do',
  })
  @ApiQuery({ name: 'at', required: false, description: 'ISO-8601 instant (default: now)' })
  @ApiQuery({ name: 'no', required: false, description: 'a network operator: rows where it is the registered NO or the owner of either proxy copy of the certificate' })
  @ApiQuery({ name: 'area', required: false, description: 'distributor ID (10-23, or another two-digit ID), the MPAN prefix' })
  @ApiQuery({ name: 'sinceFrom', required: false, description: 'stuck since at or after (ISO-8601)' })
  @ApiQuery({ name: 'sinceTo', required: false, description: 'stuck since at or before (ISO-8601)' })
  @ApiQuery({ name: 'sort', required: false, enum: STUCK_SORT_KEYS })
  @ApiQuery({ name: 'order', required: false, enum: ['asc', 'desc'] })
  @ApiQuery({ name: 'limit', required: false, description: '1-1000; with limit or after the reply is one page, with `next`' })
  @ApiQuery({ name: 'after', required: false, description: 'the `next` of the previous page' })
  stuckDevices(@Query() q: Record<string, string | undefined>) {
    const asOf = instant(q.at, 'at');
    const rs = q.ruleSet === undefined ? undefined : getRuleSet(q.ruleSet);
    // A parameter given empty is refused before this (QueryParametersGuard): each here is given or left out.
    const filtered = ['no', 'area', 'sinceFrom', 'sinceTo', 'sort', 'order', 'limit', 'after'].some((k) => q[k] !== undefined);
    if (q.sort !== undefined && !(STUCK_SORT_KEYS as readonly string[]).includes(q.sort)) throw new DomainError('sort', `must be one of ${STUCK_SORT_KEYS.join(', ')}`);
    if (q.order !== undefined && q.order !== 'asc' && q.order !== 'desc') throw new DomainError('order', "must be 'asc' or 'desc'");
    if (q.area !== undefined && !/^\d{2}$/.test(q.area)) throw new DomainError('area', 'must be a two-digit distributor ID');
    const sort = (q.sort ?? 'deviceId') as StuckSortKey;
    const query: StuckQuery = {
      no: q.no === undefined ? undefined : parseUserId(q.no, 'no'),
      area: q.area,
      ...range(instant(q.sinceFrom, 'sinceFrom'), instant(q.sinceTo, 'sinceTo'), 'sinceFrom', 'sinceTo'),
      sort,
      order: q.order as 'asc' | 'desc' | undefined,
      after: q.after === undefined ? undefined : parseStuckCursor(q.after, sort), // read here once, for the page now or as of an instant
      limit: pageLimit(q.limit),
    };
    const ruleSet = rs ? { ruleSet: { id: rs.id, version: rs.version } } : {};
    if (asOf === undefined) {
      // Now: from the stuck-device projection, paged by the database; remedies for the page only.
      if (filtered) return { ...ruleSet, ...this.stuckNow(query, rs) };
      const devices = [];
      let repairable = 0;
      let at = '';
      for (let after: StuckCursor | undefined; ; ) {
        const page = this.stuckNow({ limit: 1000, after }, rs);
        at ||= page.at;
        devices.push(...page.devices);
        repairable += page.repairableOnPage ?? 0;
        if (!page.next) break;
        const last = page.devices[page.devices.length - 1].deviceId; // sorted by device id: the key is the id
        after = { key: last, deviceId: last };
      }
      return { at, ...ruleSet, ...(rs ? { repairable } : {}), count: devices.length, devices };
    }
    // As of an instant: computed from each device's history (a pass over the SMETS1 devices).
    const all = this.stuckReport(asOf, rs);
    if (filtered) return { at: asOf, ...ruleSet, ...pageStuck(all, query) };
    return { at: asOf, ...ruleSet, ...(rs ? { repairable: all.filter((d) => d.repairable).length } : {}), count: all.length, devices: all };
  }

}
