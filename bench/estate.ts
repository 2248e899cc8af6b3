import * as path from 'node:path';
import { getRuleSet, holderAt, parseServiceRequest, type DeviceState, type MeterPointState, type ServiceRequest } from '@ledger/domain';
import { SqliteEventStore } from '@ledger/event-store';
import { Ledger, runDemo } from '@ledger/ledger';
import { openReadModels, Projector, type ReadModelDb } from '@ledger/projections';

/** A demo estate in a fresh store (and its read models), for the benchmarks that need one. */
export async function demoEstate(dir: string, devices: number) {
  const file = path.join(dir, 'ledger.sqlite');
  const store = new SqliteEventStore(file);
  await runDemo(new Ledger(store, getRuleSet('baseline')), { devices, concurrency: 64 });
  const writer = openReadModels(path.join(dir, 'readmodels.sqlite'));
  await new Projector(store, writer).catchUp();
  return { file, store, readModels: writer.db };
}

export interface Target {
  deviceId: string;
  supplier: string;
  networkOperator: string;
  /** The NO owns the NO certificate held by proxy (a SMETS1 device it can renew). */
  ownsNoCert: boolean;
}

/** Commissioned devices with who is registered for them at `at`. */
export function targets(readModels: ReadModelDb, at: string): Target[] {
  const rows = readModels.db.prepare('SELECT state FROM devices').all() as Array<{ state: string }>;
  const out: Target[] = [];
  for (const { state } of rows) {
    const d = JSON.parse(state) as DeviceState;
    if (d.status !== 'Commissioned' || !d.mpxn) continue;
    const mp = readModels.db.prepare('SELECT state FROM meter_points WHERE mpxn = ?').get(d.mpxn) as { state: string } | undefined;
    if (!mp) continue;
    const meterPoint = JSON.parse(mp.state) as MeterPointState;
    const supplier = holderAt(meterPoint, 'supplier', at)?.partyUserId;
    const no = holderAt(meterPoint, 'networkOperator', at)?.partyUserId;
    if (!supplier || !no) continue;
    const noCert = d.slots['networkOperator.critical']?.DSP?.certificate.ownerUserId;
    out.push({ deviceId: d.deviceId, supplier, networkOperator: no, ownsNoCert: d.smetsGeneration === 1 && noCert === no });
  }
  return out;
}

/**
 * Realistic requests: 70% 4.1.1 reads by the registered supplier, 30% 6.15.1 renewals of NO
 * credentials by the registered NO that owns them (SMETS1), or reads where there is none to renew.
 */
export function requestStream(ts: Target[], count: number, receivedAt: string, counterBase = 1_000_000): ServiceRequest[] {
  const renewable = ts.filter((t) => t.ownsNoCert);
  return Array.from({ length: count }, (_, i) => {
    const critical = i % 10 >= 7 && renewable.length > 0;
    const t = critical ? renewable[i % renewable.length] : ts[i % ts.length];
    const sender = critical ? t.networkOperator : t.supplier;
    return parseServiceRequest({
      requestId: `${sender}:${t.deviceId}:${counterBase + i}`,
      srv: critical ? '6.15.1' : '4.1.1',
      remotePartyRole: critical ? 'NetworkOperator' : undefined,
      certificates: critical ? [{ serial: `BE${i.toString(16)}`, issuer: 'CN=Bench CA', ownerUserId: sender, roleCode: '03', keyUsage: 'digitalSignature' }] : [],
      receivedAt,
      format: 'json',
    });
  });
}
