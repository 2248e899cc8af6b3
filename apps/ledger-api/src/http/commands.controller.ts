import { Body, Controller, Headers, HttpCode, Param, Post, Req } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { DomainError, parseServiceRequest, type ServiceRequestInput } from '@ledger/domain';
import { IntakeError, Ledger, parseDuisRequest, parseRegistrationCsv, REGISTRATION_CSV_HEADER, type SubmitResult } from '@ledger/ledger';
import { Projector } from '@ledger/projections';
import { Roles, type ApiRole } from './api-keys';
import { certificateFromDto } from './certificates';
import { InventoryDto, PlacementDto, RegistrationDto, ServiceRequestDto, UserRoleDto } from './dto';
import { validated } from './validation';

type AuthedRequest = { apiRole?: ApiRole; headers: Record<string, unknown> };
const actor = (req: AuthedRequest) => `api:${req.apiRole ?? 'unknown'}`;

@ApiTags('intake')
@ApiSecurity('api-key')
@Controller()
@Roles('intake')
export class CommandsController {
  constructor(
    private readonly ledger: Ledger,
    private readonly projector: Projector,
  ) {}

  @Post('service-requests')
  @HttpCode(200)
  @ApiOperation({ summary: 'Judge a service request (DUIS XML or JSON) and record the decision' })
  @ApiConsumes('application/json', 'application/xml')
  @ApiBody({ type: ServiceRequestDto, description: 'JSON as below, or a DUIS XML request (application/xml)' })
  async submit(@Body() body: unknown, @Headers('content-type') contentType: string | undefined, @Req() req: AuthedRequest) {
    const receivedAt = new Date().toISOString();
    let input: ServiceRequestInput;
    if (/^(application|text)\/xml\b/.test(contentType ?? '')) {
      input = parseDuisRequest(typeof body === 'string' ? body : '', receivedAt).input;
    } else if (/^application\/json\b/.test(contentType ?? '')) {
      const dto = await validated(ServiceRequestDto, body);
      input = {
        requestId: dto.requestId,
        srv: dto.srv,
        role: dto.role,
        commandVariant: dto.commandVariant,
        signingRoleCode: dto.signingRoleCode,
        executionDateTime: dto.executionDateTime,
        dateRange: dto.dateRange,
        remotePartyRole: dto.remotePartyRole,
        certificates: (dto.certificates ?? []).map((c, i) => certificateFromDto(c, `certificates[${i}]`)),
        receivedAt,
        format: 'json',
      };
    } else {
      throw new IntakeError('content-type', `'${contentType ?? ''}' is not accepted: send application/json or application/xml`);
    }
    const result = await this.ledger.submit(parseServiceRequest(input), { actor: actor(req) });
    return this.reply(result);
  }

  @Post('registrations')
  @HttpCode(200)
  @ApiOperation({ summary: 'Record one Registration Data change (idempotent by MPxN and record id)' })
  async registration(@Body() body: RegistrationDto, @Req() req: AuthedRequest) {
    const r = await this.ledger.recordRegistration(body, { actor: actor(req) });
    await this.projector.waitFor(BigInt(r.position!));
    return r;
  }

  @Post('registrations/import')
  @HttpCode(200)
  @ApiOperation({ summary: `Import a Registration Data CSV file (header: ${REGISTRATION_CSV_HEADER.join(',')})` })
  @ApiConsumes('text/csv')
  @ApiBody({ schema: { type: 'string', example: `${REGISTRATION_CSV_HEADER.join(',')}\n1412345678901,network_operator,90-B3-D5-1F-30-03-00-0A,2024-01-01,RDP-1` } })
  async importRegistrations(@Body() body: unknown, @Headers('content-type') contentType: string | undefined, @Headers('x-file-name') fileName: string | undefined, @Req() req: AuthedRequest) {
    if (!/^text\/(csv|plain)\b/.test(contentType ?? '') || typeof body !== 'string') {
      throw new IntakeError('content-type', 'send the file as text/csv');
    }
    const file = fileName || `upload-${new Date().toISOString()}`;
    const { rows, errors } = parseRegistrationCsv(body);
    let written = 0;
    let unchanged = 0;
    let last: string | null = null;
    for (const row of rows) {
      try {
        const r = await this.ledger.recordRegistration({ ...row, file }, { actor: actor(req) });
        if (r.written) written++;
        else unchanged++;
        last = r.position;
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        errors.push({ line: row.line, field: err.field, reason: err.reason });
      }
    }
    if (last) await this.projector.waitFor(BigInt(last));
    errors.sort((a, b) => a.line - b.line);
    return { file, lines: rows.length + errors.length, written, unchanged, rejected: errors.length, errors };
  }

  @Post('users')
  @HttpCode(200)
  @ApiOperation({ summary: 'Register a User acting in a User Role' })
  async user(@Body() body: UserRoleDto, @Req() req: AuthedRequest) {
    const r = await this.ledger.registerUserRole(body, { actor: actor(req) });
    await this.projector.waitFor(BigInt(r.position!));
    return r;
  }

  @Post('devices')
  @HttpCode(200)
  @ApiOperation({ summary: "Record a change to a device's Smart Metering Inventory record" })
  async inventory(@Body() body: InventoryDto, @Req() req: AuthedRequest) {
    const r = await this.ledger.changeInventory(body, { actor: actor(req) });
    await this.projector.waitFor(BigInt(r.position!));
    return r;
  }

  @Post('devices/:deviceId/certificates')
  @HttpCode(200)
  @ApiOperation({ summary: 'Record a certificate placed by proxy at migration or by an operator correction' })
  async place(@Param('deviceId') deviceId: string, @Body() body: PlacementDto, @Req() req: AuthedRequest) {
    const r = await this.ledger.placeCertificate(
      { deviceId, slot: body.slot, certificate: certificateFromDto(body.certificate, 'certificate'), heldBy: body.heldBy, via: { kind: body.via, reference: body.reference }, placedAt: body.placedAt },
      { actor: actor(req) },
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
      recorded: r.written ? 'now' : 'before (the RequestID was decided already; nothing written)',
      stream: r.stream,
      position: r.position,
      projected,
    };
  }
}

