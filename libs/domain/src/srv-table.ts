import type { DeviceStatus, DeviceType, SrvDefinition } from './catalogue';
import type { UserRole } from './identifiers';

/**
 * The catalogue the ledger judges by from rule-set edition 2 on: every Service Reference Variant
 * of the DCC's DUIS request matrix, as shipped in `@smartdcc/duis-parser`
 * (`dist/duis-request-matrix.json`, 129 SRVs), plus ONE table (SRV_SUPPLEMENT below) of what the
 * matrix does not say.
 *
 * From the matrix, never restated here: the name, criticality, eligible User Roles, whether the
 * request is a non-device request, and the future-dated response pattern.
 *
 * The matrix is read with `require` of the package's JSON module. That is a pure data import (the
 * module loader reads it once, like any other module; nothing here does I/O or reads a clock), so
 * the domain stays pure; loading it in libs/ledger and passing it in would only move the same
 * `require` and make every caller of evaluate() carry the catalogue.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const MATRIX: readonly MatrixRow[] = require('@smartdcc/duis-parser/dist/duis-request-matrix.json');

/** One row of the DCC's request matrix (the fields the ledger reads). */
export interface MatrixRow {
  'Service Request Name': string;
  'Service Reference Variant': string;
  Critical: 'Yes' | 'No';
  'Future Dated Response Pattern': string;
  'Non-Device Request': 'Yes' | 'No';
  'Eligible User Roles': UserRole[];
}

export type FutureDating = 'DSP' | 'Device' | 'DSP & Device' | 'No';

/**
 * What the ledger adds to a matrix row. `source` names where each value comes from:
 * - `GBCS <codes>`: the GBCS use cases that carry the SRV, as the DCC lists them in its public
 *   GBCS-to-DUIS mapping (SmartDCCInnovation/duis-templates, `src/gbcs-mapping-table.json`). The
 *   use-case prefix names the device: ECS an ESME, GCS a GSME (or the GPF where the title says
 *   so), CCS and DBCH the Communications Hub Function, CS a use case for several device types.
 * - `DCC example`: a request message the DCC publishes (SmartDCCInnovation/duis-templates,
 *   `templates/`), e.g. 4.1.1 sent to a GPF, 6.15.1 LoadController sent by a supplier.
 * - `ledger choice`: no public source settles it; the README lists each such choice.
 */
export interface SrvSupplement {
  deviceTypes: readonly DeviceType[];
  /** Statuses in which the device takes the request. */
  allowedStatuses: readonly DeviceStatus[];
  /** What an accepted request places by proxy: the RemotePartyRole's slot (6.15.1, 6.21), the supplier's (6.23), or nothing. */
  placesCertificates: SrvDefinition['placesCertificates'];
  /**
   * Carries replacement certificates it does not place: 8.5 Service Opt Out, whose DCC example
   * (CS02b ACB by ACB) carries the ACB's new certificate. They are read and recorded with the
   * decision; no proxy slot holds the ACB's, so nothing is placed (placesCertificates false).
   */
  carriesCertificates?: true;
  source: string;
}

const E: readonly DeviceType[] = ['ESME'];
const G: readonly DeviceType[] = ['GSME'];
const EG: readonly DeviceType[] = ['ESME', 'GSME'];
/** Reads of gas data: the GSME, or the GPF that answers for it (DCC's own 4.1.1 example is sent to a GPF). */
const EGP: readonly DeviceType[] = ['ESME', 'GSME', 'GPF'];
const GP: readonly DeviceType[] = ['GSME', 'GPF'];
const CHF: readonly DeviceType[] = ['CHF'];
/** Every device on the HAN a join, unjoin or device log names. */
const HAN: readonly DeviceType[] = ['ESME', 'GSME', 'GPF', 'PPMID', 'HCALCS', 'IHD', 'CAD'];
const NONE: readonly DeviceType[] = [];

const COMMISSIONED: readonly DeviceStatus[] = ['Commissioned'];
/** Requests that are part of installing a device also reach it while InstalledNotCommissioned. */
const INSTALLING: readonly DeviceStatus[] = ['Commissioned', 'InstalledNotCommissioned'];

const s = (deviceTypes: readonly DeviceType[], source: string, allowedStatuses: readonly DeviceStatus[] = COMMISSIONED, placesCertificates: SrvDefinition['placesCertificates'] = false): SrvSupplement => ({
  deviceTypes,
  allowedStatuses,
  placesCertificates,
  source,
});
const installing = 'statuses: ledger choice (an installation step, so InstalledNotCommissioned too)';
const credentials = 'statuses: ledger choice (credential requests are part of installation and handover, so InstalledNotCommissioned too)';

/**
 * The one table of what the DUIS matrix lacks, per SRV. Statuses: Commissioned only unless the
 * entry says otherwise (domain.md section 2: only Commissioned, and for some requests
 * InstalledNotCommissioned, devices take commands). Non-device requests name no device types.
 */
export const SRV_SUPPLEMENT: Readonly<Record<string, SrvSupplement>> = {
  '1.1.1': s(EG, 'GBCS ECS01a, GCS01a'),
  '1.1.2': s(E, 'GBCS ECS01c'),
  '1.2.1': s(EG, 'GBCS ECS01b, GCS01b'),
  '1.2.2': s(E, 'GBCS ECS01d'),
  '1.5': s(EG, 'GBCS ECS04a-b, GCS40a-d'),
  '1.6': s(EG, 'GBCS ECS02, ECS03, GCS02, GCS03'),
  '1.7': s(E, 'GBCS ECS05'),
  '2.1': s(EG, 'GBCS ECS08a, GCS05'),
  '2.2': s(EG, 'GBCS CS01a (ESME), CS01b (GSME)'),
  '2.3': s(EG, 'GBCS ECS07, GCS04'),
  '2.5': s(EG, 'GBCS ECS09, GCS06'),
  '3.1': s(EG, 'GBCS ECS10, GCS07'),
  '3.2': s(['ESME', 'GPF'], 'GBCS ECS12, GCS09 (on the GPF)'),
  '3.3': s(['ESME', 'GSME', 'PPMID', 'HCALCS'], 'GBCS ECS15a, ECS15c, CS11 (a ZigBee device: ledger choice GSME, PPMID, HCALCS)'),
  '3.4': s(EG, 'GBCS ECS16, GCS44'),
  '3.5': s(EG, 'GBCS ECS14, GCS11'),
  '4.1.1': s(EGP, 'GBCS ECS17b, GCS13a; DCC example sent to a GPF'),
  '4.1.2': s(EGP, 'GBCS ECS17d, GCS13c (gas reads also to the GPF, as 4.1.1)'),
  '4.1.3': s(E, 'GBCS ECS17e'),
  '4.1.4': s(GP, 'GBCS GCS13b (gas reads also to the GPF, as 4.1.1)'),
  '4.2': s(E, 'GBCS ECS17a'),
  '4.3': s(EGP, 'GBCS ECS19, GCS14 (gas reads also to the GPF, as 4.1.1)'),
  '4.4.2': s(EGP, 'GBCS ECS20b, GCS15b (gas reads also to the GPF, as 4.1.1)'),
  '4.4.3': s(EGP, 'GBCS ECS20c, GCS15c (gas reads also to the GPF, as 4.1.1)'),
  '4.4.4': s(EGP, 'GBCS ECS20a, GCS15d (gas reads also to the GPF, as 4.1.1)'),
  '4.4.5': s(EGP, 'GBCS ECS20d, GCS15e (gas reads also to the GPF, as 4.1.1)'),
  '4.6.1': s(EGP, 'GBCS ECS21a, GCS16a (gas reads also to the GPF, as 4.1.1)'),
  '4.6.2': s(E, 'GBCS ECS21c'),
  '4.8.1': s(EGP, 'GBCS ECS22b, GCS17 (gas reads also to the GPF, as 4.1.1)'),
  '4.8.2': s(E, 'GBCS ECS22c'),
  '4.8.3': s(E, 'GBCS ECS22a'),
  '4.10': s(EGP, 'GBCS ECS23, ECS23b, GCS18 (gas reads also to the GPF, as 4.1.1)'),
  '4.11.1': s(EGP, 'GBCS ECS24, GCS21f (gas reads also to the GPF, as 4.1.1)'),
  '4.11.2': s(E, 'GBCS ECS24b'),
  '4.12.1': s(E, 'GBCS ECS18b'),
  '4.12.2': s(E, 'GBCS ECS18a'),
  '4.13': s(EGP, 'GBCS ECS26a, GCS21b (gas reads also to the GPF, as 4.1.1)'),
  '4.14': s(EGP, 'GBCS ECS21b, GCS16b (gas reads also to the GPF, as 4.1.1)'),
  '4.15': s(E, 'GBCS ECS27'),
  '4.16': s(E, 'GBCS ECS17c'),
  '4.17': s(EGP, 'GBCS ECS66, GCS61 (gas reads also to the GPF, as 4.1.1)'),
  '4.18': s(EGP, 'GBCS ECS82, GCS60 (gas reads also to the GPF, as 4.1.1)'),
  '5.1': s(NONE, 'non-device request (matrix)'),
  '5.2': s(NONE, 'non-device request (matrix)'),
  '5.3': s(NONE, 'non-device request (matrix)'),
  '6.2.1': s(E, 'GBCS ECS26b, ECS26k'),
  '6.2.2': s(E, 'GBCS ECS26c'),
  '6.2.3': s(EGP, 'GBCS ECS26l, GCS21k (gas reads also to the GPF, as 4.1.1)'),
  '6.2.4': s(['ESME', 'GSME', 'GPF', 'CHF'], `GBCS ECS26m, GCS21m, ECS26n (the CH identity); ${installing}`, INSTALLING),
  '6.2.5': s(E, 'GBCS ECS26f'),
  '6.2.7': s(EGP, `GBCS ECS40, GCS46 (gas reads also to the GPF, as 4.1.1); ${installing}`, INSTALLING),
  '6.2.8': s(GP, 'GBCS GCS21a'),
  '6.2.9': s(EGP, 'GBCS ECS26j, GCS21j (gas reads also to the GPF, as 4.1.1)'),
  '6.2.10': s(EGP, 'GBCS ECS25r1-2, GCS20r (gas reads also to the GPF, as 4.1.1)'),
  '6.4.1': s(E, 'GBCS ECS28a'),
  '6.4.2': s(E, 'GBCS ECS28b'),
  '6.5': s(E, 'GBCS ECS29a-d'),
  '6.6': s(G, 'GBCS GCS23'),
  '6.7': s(G, 'GBCS GCS24a'),
  '6.8': s(EG, 'GBCS ECS30a, GCS25a'),
  '6.11': s(EG, 'GBCS ECS70, GCS28'),
  '6.12': s(E, 'GBCS ECS34'),
  '6.13': s(['ESME', 'GSME', 'GPF', 'CHF', 'PPMID', 'HCALCS'], 'GBCS ECS35a-g (ESME, CHF), CS10a-b (a ZigBee device: ledger choice GSME, GPF, PPMID, HCALCS)'),
  '6.14.1': s(E, 'GBCS ECS46a'),
  '6.14.2': s(E, 'GBCS ECS46 family (auxiliary load control on the ESME): ledger choice'),
  '6.14.3': s(E, 'GBCS ECS46d'),
  '6.15.1': s(EGP, `GBCS CS02b, CS02g; DCC examples (NO by NO, supplier by supplier, LoadController by supplier); GPF: ledger choice kept from catalogue@1; ${credentials}`, INSTALLING, 'remotePartyRole'),
  '6.15.2': s(EGP, `GBCS CS02d; ${credentials}`, INSTALLING),
  '6.17': s(EGP, `GBCS CS02c; ${credentials}`, INSTALLING),
  '6.18.1': s(E, 'GBCS ECS37'),
  '6.18.2': s(E, 'GBCS ECS57'),
  '6.20.1': s(EG, `GBCS ECS39a, GCS41; ${installing}`, INSTALLING),
  '6.20.2': s(E, 'GBCS ECS39b'),
  '6.21': s(EGP, `GBCS CS02b (handover); DCC examples (NO by NO, supplier by supplier); ${credentials}`, INSTALLING, 'remotePartyRole'),
  '6.22': s(EG, 'GBCS ECS25a-b, GCS20'),
  '6.23': s(EGP, `GBCS CS02b; DCC example (supplier credentials replaced by TransCoS); ${credentials}`, INSTALLING, 'supplier'),
  '6.24.1': s(EGP, `GBCS CS02a, CS02f; DCC examples (two RemotePartyRoles in one request); ${credentials}`, INSTALLING),
  '6.24.2': s(EGP, `GBCS CS02e; ${credentials}`, INSTALLING),
  '6.25': s(E, 'GBCS ECS81'),
  '6.26': s(E, 'GBCS ECS48'),
  '6.27': s(E, 'GBCS ECS29e-f'),
  '6.28': s(CHF, 'GBCS DBCH04'),
  '6.29': s(CHF, 'GBCS DBCH05'),
  '6.30': s(CHF, 'GBCS DBCH03'),
  '6.31': s(CHF, 'GBCS DBCH01'),
  '6.32': s(CHF, 'GBCS DBCH02'),
  '7.1': s(E, 'GBCS ECS42'),
  '7.2': s(EG, 'GBCS ECS43, GCS32'),
  '7.3': s(EG, 'GBCS ECS44, GCS39'),
  '7.4': s(EG, 'GBCS ECS45, GCS33'),
  '7.5': s(E, 'the auxiliary load switch of the ESME: ledger choice (no use case listed)'),
  '7.6': s(E, 'the auxiliary load switch of the ESME: ledger choice (no use case listed)'),
  '7.7': s(E, 'the auxiliary load switch of the ESME: ledger choice (no use case listed)'),
  '7.8': s(E, 'the auxiliary load switch of the ESME: ledger choice (no use case listed)'),
  '7.9': s(E, 'GBCS ECS62'),
  '7.10': s(E, 'GBCS ECS62'),
  '7.11': s(E, 'GBCS ECS61c'),
  '7.12': s(E, 'GBCS ECS38'),
  '7.13': s(E, 'GBCS ECS47a'),
  '7.14': s(E, 'GBCS ECS61d'),
  '7.15': s(E, 'GBCS ECS61e'),
  '7.16': s(E, 'GBCS ECS47e'),
  '8.1.1': s(EG, 'GBCS ECS70, GCS28 (Set Clock, service reference 8.1); statuses: ledger choice (commissioning reaches an installed device)', ['InstalledNotCommissioned', 'Commissioned']),
  '8.2': s(NONE, 'non-device request (matrix)'),
  '8.3': s(NONE, 'non-device request (matrix)'),
  '8.4': s(NONE, 'non-device request (matrix)'),
  '8.5': { ...s(['ESME', 'GSME', 'GPF', 'CHF'], 'DCC example (ACB by ACB); device types: ledger choice (the matrix names no eligible User Role, so every User gets E2)'), carriesCertificates: true },
  '8.6': s(NONE, 'non-device request (matrix)'),
  '8.7.1': s(HAN, `GBCS CS03A1, CS03A2, CS03C; ${installing}`, INSTALLING),
  '8.7.2': s(HAN, `GBCS CS03A2, CS03B, CS03C; ${installing}`, INSTALLING),
  '8.8.1': s(HAN, `GBCS CS04AC; ${installing}`, INSTALLING),
  '8.8.2': s(HAN, `GBCS CS04AC, CS04B; ${installing}`, INSTALLING),
  '8.9': s(['CHF', 'GPF', 'ESME', 'GSME', 'PPMID', 'HCALCS'], `GBCS CCS06, CCS07 (CHF), CS07 (a device's join details); ${installing}`, INSTALLING),
  '8.11': s(['CHF', 'GPF'], `GBCS CCS01, CCS02 (CHF device log; the GPF keeps its own); ${installing}`, INSTALLING),
  '8.12.1': s(CHF, `GBCS CCS03; ${installing}`, INSTALLING),
  '8.12.2': s(['GPF'], `GBCS GCS59; ${installing}`, INSTALLING),
  '8.13': s(NONE, 'non-device request (matrix)'),
  '8.14.1': s(NONE, 'non-device request (matrix)'),
  '8.14.2': s(NONE, 'non-device request (matrix)'),
  '8.14.3': s(NONE, 'non-device request (matrix)'),
  '8.14.4': s(NONE, 'non-device request (matrix)'),
  '9.1': s(EG, 'GBCS ECS50, GCS36'),
  '11.1': s(NONE, 'non-device request (matrix)'),
  '11.2': s(['ESME', 'GSME', 'CHF', 'PPMID', 'HCALCS'], `GBCS ECS52, GCS38, CS08; ${installing}`, INSTALLING),
  '11.3': s(['ESME', 'GSME', 'CHF', 'PPMID', 'HCALCS'], 'GBCS CS06'),
  '11.4': s(NONE, 'non-device request (matrix)'),
  '12.1': s(NONE, 'non-device request (matrix)'),
  '12.2': s(NONE, 'non-device request (matrix)'),
  '14.1': s(G, 'GBCS GCS31'),
};

function definitionOf(row: MatrixRow): SrvDefinition {
  const srv = row['Service Reference Variant'];
  const extra = SRV_SUPPLEMENT[srv];
  if (!extra) throw new Error(`SRV ${srv} of the DUIS matrix has no entry in SRV_SUPPLEMENT`);
  const nonDevice = row['Non-Device Request'] === 'Yes';
  return {
    srv,
    // The matrix's names sometimes carry notes on further lines (8.2): the first line is the name.
    name: row['Service Request Name'].split('\n')[0].trim(),
    critical: row.Critical === 'Yes',
    eligibleRoles: row['Eligible User Roles'],
    deviceTypes: extra.deviceTypes,
    allowedStatuses: extra.allowedStatuses,
    placesCertificates: extra.placesCertificates,
    nonDevice,
    futureDating: row['Future Dated Response Pattern'] as FutureDating,
    source: extra.source,
  };
}

/** The DUIS request matrix as the ledger's catalogue (edition 2), keyed by SRV. */
export const MATRIX_CATALOGUE: Readonly<Record<string, SrvDefinition>> = Object.fromEntries(MATRIX.map((row) => [row['Service Reference Variant'], definitionOf(row)]));

/** Whether SRV `srv` may carry replacement certificates that it does not place (SrvSupplement.carriesCertificates). */
export function carriesUnplacedCertificates(srv: string): boolean {
  return SRV_SUPPLEMENT[srv]?.carriesCertificates === true;
}

/** The raw matrix rows, for tests that walk the whole matrix. */
export const DUIS_MATRIX: readonly MatrixRow[] = MATRIX;
