import {
  DomainError,
  parseChangeInventory,
  parsePlaceCertificate,
  parseRecordRegistration,
  parseRegisterUserRole,
  type ChangeInventory,
  type PlaceCertificate,
  type RecordRegistration,
  type RegisterUserRole,
} from '@ledger/domain';
import { decodeUtf8 } from './body';
import { checkFileName } from './file-name';
import { certificateFromDto } from './certificate-dto';
import { InventoryDto, PlacementDto, RegistrationDto, UserRoleDto } from './dto';
import { aTurn, LINES_A_TURN, parseRegistrationCsv, type RowError } from './registrations-csv';
import { validated } from './validation';

/**
 * The one intake of the recording commands, for every door: a JSON body (already through
 * parseJsonBody) is checked against its DTO (unknown fields, types, identifiers), mapped to the
 * command's input and checked by the domain's parse into a typed command. The first problem is an
 * IntakeError or a DomainError naming the field.
 */

export async function registerUserRoleFromJson(body: unknown): Promise<RegisterUserRole> {
  return parseRegisterUserRole(await validated(UserRoleDto, body));
}

export async function changeInventoryFromJson(body: unknown): Promise<ChangeInventory> {
  return parseChangeInventory(await validated(InventoryDto, body));
}

export async function recordRegistrationFromJson(body: unknown): Promise<RecordRegistration> {
  return parseRecordRegistration(await validated(RegistrationDto, body));
}

/** A placement on the device `deviceId` (the route names it): the certificate as identity fields, or base64 DER read with the X.509 library. */
export async function placeCertificateFromJson(deviceId: unknown, body: unknown): Promise<PlaceCertificate> {
  const dto = await validated(PlacementDto, body);
  return parsePlaceCertificate({
    deviceId,
    slot: dto.slot,
    certificate: certificateFromDto(dto.certificate, 'certificate'),
    heldBy: dto.heldBy,
    via: { kind: dto.via, reference: dto.reference },
    placedAt: dto.placedAt,
  });
}

/** A Registration Data file's changes as commands, each with its line, and the lines refused. */
export interface RegistrationFile {
  file: string;
  changes: Array<{ line: number; command: RecordRegistration }>;
  errors: RowError[];
}

/**
 * A Registration Data file (see parseRegistrationCsv), from its bytes or from text a door decoded
 * already: its name must be a file name (checkFileName) and its bytes UTF-8, and its header right, or the whole
 * file is refused (an IntakeError); each good line is a RecordRegistration carrying the file and
 * line, each bad line a RowError.
 */
export async function registrationFileFromCsv(body: Uint8Array | string, file: string): Promise<RegistrationFile> {
  checkFileName(file, 'file');
  const { rows, errors } = await parseRegistrationCsv(typeof body === 'string' ? body : decodeUtf8(body, 'body'));
  const changes: RegistrationFile['changes'] = [];
  for (const [i, { line, ...row }] of rows.entries()) {
    if (i % LINES_A_TURN === LINES_A_TURN - 1) await aTurn();
    try {
      changes.push({ line, command: parseRecordRegistration({ ...row, file, line }) });
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      errors.push({ line, field: err.field, reason: err.reason });
    }
  }
  return { file, changes, errors };
}
