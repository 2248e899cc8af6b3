import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsIn, IsInt, IsNotEmpty, IsOptional, IsString, Matches, ValidateNested } from 'class-validator';
import { AT_MOST_ONE_CERTIFICATE_PER_KEY_USAGE } from '@ledger/domain';
import { IDENTIFIER_PATTERN, IDENTIFIER_RULE } from './body';

const identifier = (each = false) => Matches(IDENTIFIER_PATTERN, { each, message: `$property must be an identifier (${IDENTIFIER_RULE})` });

export class CertificateDto {
  @ApiPropertyOptional({ description: 'The certificate, base64 DER: owner, role, key usage, serial and issuer are read from it' })
  @IsOptional()
  @IsString()
  der?: string;

  @ApiPropertyOptional({ description: 'Without der: the serial number (hex)' })
  @IsOptional()
  @IsString()
  serial?: string;

  @ApiPropertyOptional({ description: 'Without der: the issuer name' })
  @IsOptional()
  @IsString()
  issuer?: string;

  @ApiPropertyOptional({ description: "Without der: the owner's User ID (EUI-64)" })
  @IsOptional()
  @IsString()
  ownerUserId?: string;

  @ApiPropertyOptional({ description: "Without der: the remote-party role code, '02' supplier or '03' network operator" })
  @IsOptional()
  @IsString()
  roleCode?: string;

  @ApiPropertyOptional({ enum: ['digitalSignature', 'keyAgreement'] })
  @IsOptional()
  @IsIn(['digitalSignature', 'keyAgreement'])
  keyUsage?: 'digitalSignature' | 'keyAgreement';
}

export class DateRangeDto {
  @ApiProperty() @IsString() from!: string;
  @ApiProperty() @IsString() to!: string;
}

/** The JSON form of a service request. */
export class ServiceRequestDto {
  @ApiProperty({ example: '90-B3-D5-1F-30-03-00-0A:00-DB-12-34-56-78-90-01:1', description: 'originatorUserID:targetDeviceID:counter' })
  @IsString()
  @IsNotEmpty()
  requestId!: string;

  @ApiProperty({ example: '6.15.1' })
  @IsString()
  @IsNotEmpty()
  srv!: string;

  @ApiPropertyOptional({ description: 'The sender role; it must be one the User holds (else E1). Derived when absent.', enum: ['IS', 'ES', 'GS', 'ED', 'GT', 'OU', 'RSA'] })
  @IsOptional()
  @IsString()
  role?: string;

  @ApiPropertyOptional() @IsOptional() @IsInt() commandVariant?: number;
  @ApiPropertyOptional({ description: "The signing certificate's role code, when known" }) @IsOptional() @IsString() signingRoleCode?: string;
  @ApiPropertyOptional({ description: 'ISO-8601; a future-dated request is judged at this time' }) @IsOptional() @IsString() executionDateTime?: string;

  @ApiPropertyOptional({ type: DateRangeDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => DateRangeDto)
  dateRange?: DateRangeDto;

  @ApiPropertyOptional({ enum: ['Supplier', 'NetworkOperator', 'ACB', 'Root', 'Recovery', 'TransCoS', 'LoadController'] })
  @IsOptional()
  @IsString()
  remotePartyRole?: string;

  @ApiPropertyOptional({ description: 'Several RemotePartyRoles (6.24.1 only), instead of remotePartyRole', type: [String] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(7)
  @IsString({ each: true })
  remotePartyRoles?: string[];

  @ApiPropertyOptional({ type: [CertificateDto] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(2, { message: AT_MOST_ONE_CERTIFICATE_PER_KEY_USAGE }) // the domain's reason, as the DUIS intake gives it for a third
  @ValidateNested({ each: true })
  @Type(() => CertificateDto)
  certificates?: CertificateDto[];
}

export class RegistrationDto {
  @ApiProperty({ example: '1412345678901' }) @IsString() mpxn!: string;
  @ApiProperty({ enum: ['supplier', 'networkOperator'] }) @IsIn(['supplier', 'networkOperator']) responsibility!: 'supplier' | 'networkOperator';
  @ApiProperty({ example: '90-B3-D5-1F-30-03-00-0A' }) @IsString() partyUserId!: string;
  @ApiProperty({ example: '2024-01-01T00:00:00Z' }) @IsString() effectiveFrom!: string;
  @ApiProperty({ example: 'RDP-0001', pattern: IDENTIFIER_PATTERN.source }) @IsString() @identifier() recordId!: string;
}

export class UserRoleDto {
  @ApiProperty({ example: '90-B3-D5-1F-30-03-00-0A' }) @IsString() userId!: string;
  @ApiProperty({ enum: ['IS', 'ES', 'GS', 'ED', 'GT', 'OU', 'RSA', 'DCC', 'ACB', 'TransCoS'], description: 'a User Role, or DCC / ACB / TransCoS for an org id of the DCC (its requests are judged E1)' }) @IsString() role!: string;
  @ApiPropertyOptional({ enum: ['Active', 'Suspended', 'Withdrawn'] }) @IsOptional() @IsString() status?: string;
  @ApiPropertyOptional({ type: [String], description: 'e.g. the distributor IDs of an ED' }) @IsOptional() @IsArray() @IsString({ each: true }) @identifier(true) marketIds?: string[];
  @ApiProperty({ example: '2019-01-01T00:00:00Z' }) @IsString() effectiveFrom!: string;
}

export class InventoryDto {
  @ApiProperty({ example: '00-DB-12-34-56-78-90-01' }) @IsString() deviceId!: string;
  @ApiProperty({ enum: ['ESME', 'GSME', 'GPF', 'CHF', 'HCALCS', 'PPMID', 'IHD', 'CAD'] }) @IsString() deviceType!: string;
  @ApiProperty({ enum: [1, 2] }) @IsInt() smetsGeneration!: number;
  @ApiProperty({ example: 'Commissioned' }) @IsString() status!: string;
  @ApiPropertyOptional({ example: '1412345678901' }) @IsOptional() @IsString() mpxn?: string;
  @ApiProperty({ example: '2020-01-01T00:00:00Z' }) @IsString() changedAt!: string;
}

export class PlacementDto {
  @ApiProperty({ enum: ['supplier.critical', 'supplier.nonCritical', 'networkOperator.critical', 'networkOperator.nonCritical'] }) @IsString() slot!: string;
  @ApiProperty({ type: CertificateDto }) @ValidateNested() @Type(() => CertificateDto) certificate!: CertificateDto;
  @ApiPropertyOptional({ type: [String], example: ['DSP', 'S1SP'] }) @IsOptional() @IsArray() heldBy?: string[];
  @ApiProperty({ enum: ['migration', 'operatorCorrection'] }) @IsIn(['migration', 'operatorCorrection']) via!: 'migration' | 'operatorCorrection';
  @ApiPropertyOptional({ description: 'Migration batch or correction ticket', pattern: IDENTIFIER_PATTERN.source }) @IsOptional() @IsString() @identifier() reference?: string;
  @ApiProperty({ example: '2020-06-01T00:00:00Z' }) @IsString() placedAt!: string;
}
