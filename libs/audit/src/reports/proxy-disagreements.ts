import { proxyDisagreements, type Instant, type ProxyDisagreement } from '@ledger/domain';
import type { EstateReads } from './estate';

/** SMETS1 notified certificate records whose DSP and S1SP copies disagree (or only one is held): an audit finding. */
export class ProxyDisagreementReport {
  constructor(private readonly estate: Pick<EstateReads, 'devices'>) {}

  /** The domain's `proxyDisagreements` over every SMETS1 device, with the copies in force at `at`, by device. */
  records(at: Instant): ProxyDisagreement[] {
    const out: ProxyDisagreement[] = [];
    for (const device of this.estate.devices.smets1()) out.push(...proxyDisagreements(device, at));
    return out;
  }
}
