import { Body, Controller, Headers, HttpCode, Param, Post, Req } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import {
  bodyKind,
  certificateFromDto,
  checkIdentifier,
  importRegistrationFile,
  IntakeError,
  InventoryDto,
  Ledger,
  PlacementDto,
  RegistrationDto,
  REGISTRATION_CSV_HEADER,
  serviceRequestFromJson,
  serviceRequestFromXml,
  ServiceRequestDto,
  UserRoleDto,
  type SubmitResult,
} from '@ledger/ledger';
import { Projector } from '@ledger/projections';
import { formatRequestId } from '@ledger/domain';
import { Metrics } from '../metrics';
import { Roles, type ApiRole } from './api-keys';

/** A request as the guard and the logger left it: the key's role, and the correlation id (pino-http's `id`). */
type AuthedRequest = { apiRole?: ApiRole; headers: Record<string, unknown>; id?: unknown; ledgerRequestId?: string };

/** Who did it, and the request's correlation id, into every event's metadata. */
const context = (req: AuthedRequest) => ({ actor: `api:${req.apiRole ?? 'unknown'}`, ...(typeof req.id === 'string' ? { correlationId: req.id } : {}) });

@ApiTags('intake')
@ApiSecurity('api-key')
@Controller()
@Roles('intake')
export class CommandsController {
  constructor(
    private readonly ledger: Ledger,
    private readonly projector: Projector,
    private readonly metrics: Metrics,
  ) {}

  @Post('service-requests')
  @HttpCode(200)
  @ApiOperation({ summary: 'Judge a service request (DUIS XML or JSON) and record the decision' })
  @ApiConsumes('application/json', 'application/xml')
  @ApiBody({ type: ServiceRequestDto, description: 'JSON as below, or a DUIS XML request (application/xml)' })
  async submit(@Body() body: unknown, @Headers('content-type') contentType: string | undefined, @Req() req: AuthedRequest) {
    const receivedAt = new Date().toISOString();
    const kind = bodyKind(contentType);
    if (kind !== 'json' && kind !== 'xml') throw new IntakeError('content-type', `'${contentType ?? ''}' is not accepted: send application/json or application/xml`);
    const request = kind === 'xml' ? serviceRequestFromXml(typeof body === 'string' ? body : '', receivedAt) : await serviceRequestFromJson(body, receivedAt);
    req.ledgerRequestId = formatRequestId(request.requestId); // into the request's log line
    const result = await this.ledger.submit(request, context(req));
    if (result.written) {
      const d = result.decision;
      this.metrics.decisions.inc({ srv: d.request.srv, outcome: d.outcome, code: d.responseCode });
      this.metrics.decisionSeconds.observe((Date.now() - Date.parse(receivedAt)) / 1000);
    }
    return this.reply(result);
  }

  @Post('registrations')
  @HttpCode(200)
  @ApiOperation({ summary: 'Record one Registration Data change (idempotent by MPxN and record id)' })
  async registration(@Body() body: RegistrationDto, @Req() req: AuthedRequest) {
    const r = await this.ledger.recordRegistration(body, context(req));
    await this.projector.waitFor(BigInt(r.position!));
    return r;
  }

  @Post('registrations/import')
  @HttpCode(200)
  @ApiOperation({ summary: `Import a Registration Data CSV file (header: ${REGISTRATION_CSV_HEADER.join(',')})` })
  @ApiConsumes('text/csv')
  @ApiBody({ schema: { type: 'string', example: `${REGISTRATION_CSV_HEADER.join(',')}\n1412345678901,network_operator,90-B3-D5-1F-30-03-00-0A,2024-01-01,RDP-1` } })
  async importRegistrations(@Body() body: unknown, @Headers('content-type') contentType: string | undefined, @Headers('x-file-name') fileName: string | undefined, @Req() req: AuthedRequest) {
    if (bodyKind(contentType) !== 'csv' || typeof body !== 'string') throw new IntakeError('content-type', 'send the file as text/csv');
    if (fileName !== undefined) checkIdentifier(fileName, 'x-file-name');
    const file = fileName || `upload-${new Date().toISOString().replace(/[^0-9TZ]/g, '')}`;
    const { lastPosition, ...report } = await importRegistrationFile(this.ledger, body, file, context(req));
    if (lastPosition) await this.projector.waitFor(BigInt(lastPosition));
    return report;
  }

  @Post('users')
  @HttpCode(200)
  @ApiOperation({ summary: 'Register a User acting in a User Role' })
  async user(@Body() body: UserRoleDto, @Req() req: AuthedRequest) {
    const r = await this.ledger.registerUserRole(body, context(req));
    await this.projector.waitFor(BigInt(r.position!));
    return r;
  }

  @Post('devices')
  @HttpCode(200)
  @ApiOperation({ summary: "Record a change to a device's Smart Metering Inventory record" })
  async inventory(@Body() body: InventoryDto, @Req() req: AuthedRequest) {
    const r = await this.ledger.changeInventory(body, context(req));
    await this.projector.waitFor(BigInt(r.position!));
    return r;
  }

  @Post('devices/:deviceId/certificates')
  @HttpCode(200)
  @ApiOperation({ summary: 'Record a certificate placed by proxy at migration or by an operator correction' })
  async place(@Param('deviceId') deviceId: string, @Body() body: PlacementDto, @Req() req: AuthedRequest) {
    const r = await this.ledger.placeCertificate(
      { deviceId, slot: body.slot, certificate: certificateFromDto(body.certificate, 'certificate'), heldBy: body.heldBy, via: { kind: body.via, reference: body.reference }, placedAt: body.placedAt },
      context(req),
    );
    await this.projector.waitFor(BigInt(r.position!));
    return r;
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

