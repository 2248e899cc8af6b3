import { DISTRIBUTOR_AREAS, mpanCheckDigit, parseServiceRequest, srvDefinitionFor, type CertificateIdentity, type DeviceStatus, type RuleSet } from '@ledger/domain';
import type { Ledger } from './ledger';
import type { CommandContext } from './streams';

export interface DemoOptions {
  devices: number;
  /** Share of SMETS1 meters migrated with the wrong network-operator certificate. */
  wrongNoShare: number;
  /** Share of devices that are SMETS1. */
  smets1Share: number;
  seed: number;
  /** How many commands run at once (the store serialises the writes). */
  concurrency: number;
  onProgress?: (done: number, total: number) => void;
}

export const DEMO_DEFAULTS: DemoOptions = { devices: 10_000, wrongNoShare: 0.1, smets1Share: 0.4, seed: 1, concurrency: 8 };

export interface DemoSummary {
  users: number;
  devices: number;
  smets1: number;
  wrongNoMigrations: number;
  registrations: number;
  requests: number;
  events: number;
}

/** A small deterministic PRNG (mulberry32), so a seed always gives the same estate. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hex2 = (n: number) => n.toString(16).toUpperCase().padStart(2, '0');
const eui = (prefix: string, n: number) => `${prefix}-${hex2((n >> 8) & 0xff)}-${hex2(n & 0xff)}`;
const deviceId = (i: number) => `00-DB-${hex2((i >> 24) & 0xff)}-${hex2((i >> 16) & 0xff)}-${hex2((i >> 8) & 0xff)}-${hex2(i & 0xff)}-00-01`;
const instant = (from: number, to: number, r: number) => new Date(from + Math.floor(r * (to - from) / 1000) * 1000).toISOString();

const T2019 = Date.parse('2019-01-01T00:00:00Z');
const T2020 = Date.parse('2020-03-01T00:00:00Z');
const T2021 = Date.parse('2021-06-01T00:00:00Z');
const T2024 = Date.parse('2024-01-01T00:00:00Z');
const T2025 = Date.parse('2024-12-31T00:00:00Z');
const ISSUER = 'CN=Demo SMKI Issuing CA';

/**
 * The routine requests of the demo, with relative weights: what a supplier and a network
 * operator send day to day (reads, logs, tariff and prepayment commands, messages, inventory
 * reads, firmware, supply), drawn from the DUIS matrix. Every one is judged; some are refused
 * as they would be in life (a critical command by a supplier whose certificate is not yet on a
 * SMETS1 meter after a change of supplier, a request to a Suspended meter).
 */
const SUPPLIER_MIX: ReadonlyArray<readonly [string, number]> = [
  ['4.1.1', 20], ['4.6.1', 10], ['4.8.1', 10], ['4.17', 8], ['4.18', 3], ['1.1.1', 4], ['1.6', 2], ['2.2', 4], ['3.1', 3],
  ['6.2.7', 3], ['7.4', 4], ['11.2', 3], ['6.13', 3], ['8.2', 3], ['6.24.1', 2], ['7.2', 2], ['11.3', 2],
];
const ED_MIX: ReadonlyArray<readonly [string, number]> = [['4.1.1', 25], ['4.8.1', 15], ['4.10', 15], ['4.17', 10], ['6.13', 10], ['6.22', 5], ['6.5', 5], ['7.4', 5], ['11.2', 5], ['8.2', 5]];
const GT_MIX: ReadonlyArray<readonly [string, number]> = [['4.1.1', 30], ['4.8.1', 15], ['4.10', 15], ['4.17', 10], ['6.13', 10], ['7.4', 10], ['11.2', 5], ['8.2', 5]];

function weighted(mix: ReadonlyArray<readonly [string, number]>, r: number): string {
  const total = mix.reduce((n, [, w]) => n + w, 0);
  let x = r * total;
  for (const [srv, w] of mix) if ((x -= w) < 0) return srv;
  return mix[mix.length - 1][0];
}

/**
 * Fills a store with a realistic estate, through the ledger's own command handlers: a network
 * operator (ED) for each of the 14 licence areas, six suppliers (IS and GS), four gas
 * transporters; SMETS1 and SMETS2 meters spread across the areas; Registration Data with changes
 * of supplier and of network operator over time; SMETS1 migrations that place the wrong NO
 * certificate on a share of the meters; and a year of service requests of a realistic mix of SRVs
 * (SUPPLIER_MIX, ED_MIX, GT_MIX), among them attempts by both NOs to repair the stuck meters. Certificates are identities (serial, issuer, owner), not
 * DER: the demo exercises the ledger, not the X.509 reader.
 */
export async function runDemo(ledger: Ledger, options: Partial<DemoOptions> = {}): Promise<DemoSummary> {
  const o = { ...DEMO_DEFAULTS, ...options };
  const rnd = prng(o.seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
  const ctx: CommandContext = { actor: 'demo' };
  const summary: DemoSummary = { users: 0, devices: o.devices, smets1: 0, wrongNoMigrations: 0, registrations: 0, requests: 0, events: 0 };

  const areas = Object.keys(DISTRIBUTOR_AREAS);
  const ed = Object.fromEntries(areas.map((a) => [a, `90-B3-D5-1F-30-03-00-${a}`]));
  const suppliers = Array.from({ length: 6 }, (_, i) => eui('90-B3-D5-1F-30-01', i + 1));
  const gts = Array.from({ length: 4 }, (_, i) => eui('90-B3-D5-1F-30-04', i + 1));
  for (const a of areas) await ledger.registerUserRole({ userId: ed[a], role: 'ED', marketIds: [a], effectiveFrom: '2019-01-01T00:00:00Z' }, ctx);
  for (const s of suppliers) {
    await ledger.registerUserRole({ userId: s, role: 'IS', effectiveFrom: '2019-01-01T00:00:00Z' }, ctx);
    await ledger.registerUserRole({ userId: s, role: 'GS', effectiveFrom: '2019-01-01T00:00:00Z' }, ctx);
  }
  for (const g of gts) await ledger.registerUserRole({ userId: g, role: 'GT', effectiveFrom: '2019-01-01T00:00:00Z' }, ctx);
  summary.users = areas.length + suppliers.length + gts.length;
  summary.events = areas.length + suppliers.length * 2 + gts.length;

  // Each device's whole story is planned from the PRNG first (so the estate depends on the seed
  // only), then run as one task; tasks run `concurrency` at a time.
  const tasks: Array<() => Promise<number>> = [];
  for (let i = 0; i < o.devices; i++) {
    const gas = rnd() < 0.3;
    const smets1 = rnd() < o.smets1Share;
    const area = pick(areas);
    const id = deviceId(i + 1);
    const mpxn = gas ? String(1_000_000_000 + i).slice(0, 10) : (() => {
      const first12 = `${area}${String(i + 1).padStart(10, '0')}`;
      return `${first12}${mpanCheckDigit(first12)}`;
    })();
    const registeredNo = gas ? pick(gts) : ed[area];
    const supplier = pick(suppliers);
    const status: DeviceStatus = rnd() < 0.95 ? 'Commissioned' : pick(['InstalledNotCommissioned', 'Suspended', 'Decommissioned'] as const);
    const cos = rnd() < 0.2 ? { to: pick(suppliers.filter((s) => s !== supplier)), at: instant(T2021, T2024, rnd()) } : undefined;
    const noChange = !gas && rnd() < 0.02 ? { to: ed[pick(areas.filter((a) => a !== area))], at: instant(T2021, T2024, rnd()) } : undefined;
    const wrongNo = smets1 && rnd() < o.wrongNoShare;
    const migratedNoOwner = wrongNo ? (gas ? pick(gts.filter((g) => g !== registeredNo)) : ed[pick(areas.filter((a) => a !== area))]) : registeredNo;
    const migratedAt = instant(T2020, T2021, rnd());
    const requests = Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => {
      const by = rnd() < 0.7 ? 'supplier' : 'no';
      const srv = weighted(by === 'supplier' ? SUPPLIER_MIX : gas ? GT_MIX : ED_MIX, rnd());
      // Under a rule set of edition 1 (10 SRVs), an SRV it does not judge is sent as the read it knows.
      return { by, at: instant(T2024, T2025, rnd()), srv: judges(ledger.ruleSet, srv) ? srv : '4.1.1' };
    });
    const repairAt = instant(T2024, T2025, rnd());
    const renewal = smets1 && !wrongNo && rnd() < 0.05;
    const currentNo = noChange ? noChange.to : registeredNo;
    const currentSupplier = cos ? cos.to : supplier;
    if (smets1) summary.smets1++;
    if (wrongNo) summary.wrongNoMigrations++;

    tasks.push(async () => {
      let events = 0;
      let counter = 0;
      // Serials derive from the device, so the estate does not depend on the order tasks run in.
      let serial = 0;
      const cert = (owner: string, roleCode: string, keyUsage: CertificateIdentity['keyUsage']): CertificateIdentity =>
        ({ serial: `${(i + 1).toString(16).toUpperCase()}${(serial++).toString(16).toUpperCase().padStart(2, '0')}`, issuer: ISSUER, ownerUserId: owner, roleCode, keyUsage }) as CertificateIdentity;
      const noResp = 'networkOperator';
      await ledger.recordRegistration({ mpxn, responsibility: 'supplier', partyUserId: supplier, effectiveFrom: '2019-01-01T00:00:00Z', recordId: `${mpxn}-S0` }, ctx);
      await ledger.recordRegistration({ mpxn, responsibility: noResp, partyUserId: registeredNo, effectiveFrom: '2019-01-01T00:00:00Z', recordId: `${mpxn}-N0` }, ctx);
      events += 2;
      if (cos) events += (await ledger.recordRegistration({ mpxn, responsibility: 'supplier', partyUserId: cos.to, effectiveFrom: cos.at, recordId: `${mpxn}-S1` }, ctx)).written ? 1 : 0;
      if (noChange) events += (await ledger.recordRegistration({ mpxn, responsibility: noResp, partyUserId: noChange.to, effectiveFrom: noChange.at, recordId: `${mpxn}-N1` }, ctx)).written ? 1 : 0;
      await ledger.changeInventory({ deviceId: id, deviceType: gas ? 'GSME' : 'ESME', smetsGeneration: smets1 ? 1 : 2, status, mpxn, changedAt: instant(T2019, T2020, (i % 97) / 97) }, ctx);
      events++;
      if (smets1) {
        const sup = (slot: 'critical' | 'nonCritical') => cert(supplier, '02', slot === 'critical' ? 'digitalSignature' : 'keyAgreement');
        const no = (slot: 'critical' | 'nonCritical') => cert(migratedNoOwner, '03', slot === 'critical' ? 'digitalSignature' : 'keyAgreement');
        for (const [slot, c] of [['supplier.critical', sup('critical')], ['supplier.nonCritical', sup('nonCritical')], ['networkOperator.critical', no('critical')], ['networkOperator.nonCritical', no('nonCritical')]] as const) {
          await ledger.placeCertificate({ deviceId: id, slot, certificate: c, via: { kind: 'migration', reference: 'DEMO-MIGRATION' }, placedAt: migratedAt }, ctx);
          events++;
        }
      }
      const submit = async (sender: string, srv: string, receivedAt: string, extra: Record<string, unknown> = {}) => {
        const r = await ledger.submit(parseServiceRequest({ requestId: `${sender}:${id}:${++counter}`, srv, receivedAt, format: 'json', ...extra }), ctx);
        events += 1 + r.placed.length;
        summary.requests++;
      };
      // The device's requests, sent in the order of their receivedAt, as a device's traffic arrives
      // (the ledger judges a request no earlier than the last one judged on its device).
      const story: Array<{ at: string; send: () => Promise<void> }> = [];
      for (const q of requests) {
        // 6.24.1 retrieves the supplier's and the network operator's credentials in one request (DCC example CS02f).
        const extra = q.srv === '6.24.1' ? { remotePartyRole: ['Supplier', 'NetworkOperator'] } : {};
        story.push({ at: q.at, send: () => submit(q.by === 'supplier' ? currentSupplier : currentNo, q.srv, q.at, extra) });
      }
      if (smets1 && wrongNo) {
        // Both network operators try to put it right.
        const noCerts = (owner: string) => [cert(owner, '03', 'digitalSignature'), cert(owner, '03', 'keyAgreement')];
        const laterAt = instant(Date.parse(repairAt), T2025 + 86_400_000, 0.5);
        story.push({ at: repairAt, send: () => submit(currentNo, '6.15.1', repairAt, { remotePartyRole: 'NetworkOperator', certificates: noCerts(currentNo) }) });
        story.push({ at: laterAt, send: () => submit(migratedNoOwner, '6.15.1', laterAt, { remotePartyRole: 'NetworkOperator', certificates: noCerts(currentNo) }) });
      } else if (renewal) {
        // A routine credential renewal by the owner and registered NO.
        story.push({ at: repairAt, send: () => submit(currentNo, '6.15.1', repairAt, { remotePartyRole: 'NetworkOperator', certificates: [cert(currentNo, '03', 'digitalSignature')] }) });
      }
      if (cos && smets1) {
        const at = instant(Date.parse(cos.at), T2025, 0.5);
        story.push({ at, send: () => submit(cos.to, '6.23', at, { certificates: [cert(cos.to, '02', 'digitalSignature')] }) });
      }
      story.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0)); // stable: one instant keeps the plan's order
      for (const { send } of story) await send();
      summary.registrations += 2 + (cos ? 1 : 0) + (noChange ? 1 : 0);
      return events;
    });
  }

  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, o.concurrency) }, async () => {
      while (next < tasks.length) {
        const task = tasks[next++];
        const events = await task();
        summary.events += events;
        o.onProgress?.(++done, tasks.length);
      }
    }),
  );
  return summary;
}

function judges(ruleSet: RuleSet, srv: string): boolean {
  try {
    srvDefinitionFor(srv, ruleSet);
    return true;
  } catch {
    return false;
  }
}
