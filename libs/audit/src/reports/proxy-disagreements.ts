import { proxyDisagreements, type Instant, type ProxyDisagreement } from '@ledger/domain';
import { smets1AsOf, type EstateReads } from './estate';

/** SMETS1 notified certificate records whose DSP and S1SP copies disagree (or only one is held): an audit finding. */
export class ProxyDisagreementReport {
  constructor(private readonly estate: Pick<EstateReads, 'devices'>) {}

  /** The domain's `proxyDisagreements` over every SMETS1 device as it was at `at` (as the stuck report reads it), with the copies in force then, by device. */
  records(at: Instant): ProxyDisagreement[] {
    const out: ProxyDisagreement[] = [];
    for (const devices of smets1AsOf(this.estate.devices, at, 500)) for (const device of devices) out.push(...proxyDisagreements(device, at));
    return out;
  }
}
