import { Body, Controller, Headers, HttpCode, Inject, Param, Post, Req } from '@nestjs/common';
import type { Logger } from 'pino';
import type { IncomingMessage } from 'node:http';
import { ApiBody, ApiConsumes, ApiHeader, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import {
  bodyKind,
  changeInventoryFromJson,
  importRegistrationFile,
  FILE_NAME_RULE,
  fileNameFromHeader,
  IntakeError,
  InventoryDto,
  Ledger,
  PlacementDto,
  placeCertificateFromJson,
  recordRegistrationFromJson,
  RegistrationDto,
  REGISTRATION_CSV_HEADER,
  registerUserRoleFromJson,
  serviceRequestFromBody,
  ServiceRequestDto,
  UserRoleDto,
  type CommandResult,
  type SubmitResult,
} from '@ledger/ledger';
import { Projector } from '@ledger/projections';
import { formatRequestId } from '@ledger/domain';
import { Metrics } from '../metrics';
import { actorOf, Roles } from './api-keys';
import { LOGGER } from './request-log';

/** A request as the guard and the logger left it: who its key is, and the correlation id (pino-http's `id`). */
type AuthedRequest = { apiActor?: string; headers: Record<string, unknown>; id?: unknown; ledgerRequestId?: string };

/**
 * A decision judged more than this much later than its request was received is logged as a warning:
 * its device's last decision was judged that far ahead, which two processes on one store explain
 * for a moment, but not for long (a clock ahead: every later request to the device is judged at
 * that instant, and its certificates take effect then, until real time catches up).
 */
const JUDGED_LATE_WARNING_MS = 60_000;

/** Who did it (the key's actor: `api:<role>:<id>[:<name>]`), and the request's correlation id, into every event's metadata. */
const context = (req: AuthedRequest) => ({ actor: actorOf(req), ...(typeof req.id === 'string' ? { correlationId: req.id } : {}) });

@ApiTags('intake')
@ApiSecurity('api-key')
@Controller()
@Roles('intake')
export class CommandsController {
  constructor(
    private readonly ledger: Ledger,
    private readonly projector: Projector,
    private readonly metrics: Metrics,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Judged-late warnings: at most one a minute, saying how many were not logged since (a clock ahead dates every decision on its device, for hours). */
  private lateWarnedAt = 0;
  private lateUnlogged = 0;

  private warnJudgedLate(requestId: string | undefined, evaluatedAt: string, receivedAt: string, late: number): void {
    const now = Date.now();
    if (now - this.lateWarnedAt < JUDGED_LATE_WARNING_MS) {
      this.lateUnlogged++;
      return;
    }
    const more = this.lateUnlogged ? ` (and ${this.lateUnlogged} more judged over a minute late since the last such warning)` : '';
    this.lateWarnedAt = now;
    this.lateUnlogged = 0;
    this.logger.warn({ context: 'ledger-api', requestId }, `${requestId} was judged at ${evaluatedAt}, ${Math.round(late / 1000)} s after it was received (${receivedAt}): a decision already on its device was judged then; is a clock ahead?${more}`);
  }

  @Post('service-requests')
  @HttpCode(200)
  @ApiOperation({ summary: 'Judge a service request (DUIS XML or JSON) and record the decision' })
  @ApiConsumes('application/json', 'application/xml')
  @ApiBody({ type: ServiceRequestDto, description: 'JSON as below, or a DUIS XML request (application/xml)' })
  async submit(@Body() body: unknown, @Headers('content-type') contentType: string | undefined, @Req() req: AuthedRequest) {
    const receivedAt = new Date().toISOString();
    const kind = bodyKind(contentType);
    if (kind !== 'json' && kind !== 'xml') throw new IntakeError('content-type', `'${contentType ?? ''}' is not accepted: send application/json or application/xml`);
    const request = await serviceRequestFromBody(kind, body, receivedAt);
    req.ledgerRequestId = formatRequestId(request.requestId); // into the request's log line
    const result = await this.ledger.submit(request, context(req));
    if (result.written) {
      const d = result.decision;
      this.metrics.decisions.inc({ srv: d.request.srv, outcome: d.outcome, code: d.responseCode });
      this.metrics.decisionSeconds.observe((Date.now() - Date.parse(receivedAt)) / 1000);
      const late = Date.parse(d.evaluatedAt) - Date.parse(receivedAt);
      if (late > 0) {
        this.metrics.judgedLateSeconds.observe(late / 1000);
        if (late > JUDGED_LATE_WARNING_MS) this.warnJudgedLate(req.ledgerRequestId, d.evaluatedAt, receivedAt, late);
      }
    }
    return this.reply(result);
  }

  @Post('registrations')
  @HttpCode(200)
  @ApiOperation({ summary: 'Record one Registration Data change (idempotent by MPxN and record id)' })
  @ApiBody({ type: RegistrationDto })
  async registration(@Body() body: unknown, @Req() req: AuthedRequest) {
    return this.recorded(await this.ledger.execute(await recordRegistrationFromJson(body), context(req)));
  }

  @Post('registrations/import')
  @HttpCode(200)
  @ApiOperation({ summary: `Import a Registration Data CSV file (header: ${REGISTRATION_CSV_HEADER.join(',')})` })
  @ApiConsumes('text/csv')
  @ApiHeader({ name: 'x-file-name', required: false, description: `the file's name, recorded with each change it carries: its UTF-8 percent-encoded (as encodeURIComponent encodes), e.g. rdp%20export%20(1).csv; ${FILE_NAME_RULE}` })
  @ApiBody({ schema: { type: 'string', example: `${REGISTRATION_CSV_HEADER.join(',')}\n1412345678901,network_operator,90-B3-D5-1F-30-03-00-0A,2024-01-01,RDP-1` } })
  async importRegistrations(@Body() body: unknown, @Headers('content-type') contentType: string | undefined, @Req() req: AuthedRequest & Pick<IncomingMessage, 'headersDistinct'>) {
    if (bodyKind(contentType) !== 'csv' || typeof body !== 'string') throw new IntakeError('content-type', 'send the file as text/csv');
    // The file's name, percent-encoded (a header holds ASCII): `rdp%20export%20(1).csv` is recorded as `rdp export (1).csv`. Sent
    // twice, Node would join the two with ', ' into a name neither gave: refused.
    const names = req.headersDistinct['x-file-name'];
    if (names && names.length > 1) throw new IntakeError('x-file-name', `sent ${names.length} times: send the file's name once`);
    const file = names === undefined ? `upload-${new Date().toISOString().replace(/[^0-9TZ]/g, '')}` : fileNameFromHeader(names[0], 'x-file-name');
    const { lastPosition, ...report } = await importRegistrationFile(this.ledger, body, file, context(req));
    // As the other recording routes say: whether the read models hold every line recorded or held (the last of them); none, nothing to wait for.
    return { ...report, projected: lastPosition ? await this.projector.waitFor(BigInt(lastPosition)) : true };
  }

  @Post('users')
  @HttpCode(200)
  @ApiOperation({ summary: 'Register a User acting in a User Role' })
  @ApiBody({ type: UserRoleDto })
  async user(@Body() body: unknown, @Req() req: AuthedRequest) {
    return this.recorded(await this.ledger.execute(await registerUserRoleFromJson(body), context(req)));
  }

  @Post('devices')
  @HttpCode(200)
  @ApiOperation({ summary: "Record a change to a device's Smart Metering Inventory record" })
  @ApiBody({ type: InventoryDto })
  async inventory(@Body() body: unknown, @Req() req: AuthedRequest) {
    return this.recorded(await this.ledger.execute(await changeInventoryFromJson(body), context(req)));
  }

  @Post('devices/:deviceId/certificates')
  @HttpCode(200)
  @ApiOperation({ summary: 'Record a certificate placed by proxy at migration or by an operator correction' })
  @ApiBody({ type: PlacementDto })
  async place(@Param('deviceId') deviceId: string, @Body() body: unknown, @Req() req: AuthedRequest) {
    return this.recorded(await this.ledger.execute(await placeCertificateFromJson(deviceId, body), context(req)));
  }

  /** A recorded fact's answer, once the read models have it (`projected: true`), or after waitFor's 5 s without them (`projected: false`), as a decision's. */
  private async recorded(r: CommandResult): Promise<CommandResult & { projected: boolean }> {
    return { ...r, projected: await this.projector.waitFor(BigInt(r.position!)) };
  }

  private async reply(r: SubmitResult) {
    const projected = await this.projector.waitFor(BigInt(r.position));
    const d = r.decision;
    return {
      requestId: d.request.requestId,
      outcome: d.outcome,
      responseCode: d.responseCode,
      senderRole: d.senderRole,
      ruleSet: d.ruleSet,
      checks: d.checks,
      placed: r.placed,
      signatureVerified: false,
      evaluatedAt: d.evaluatedAt,
      written: r.written,
      recorded: r.written ? 'now' : 'before (the RequestID was decided already; nothing written)',
      stream: r.stream,
      position: r.position,
      projected,
    };
  }
}

