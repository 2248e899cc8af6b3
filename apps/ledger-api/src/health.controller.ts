import { Controller, Get, HttpCode, Inject } from '@nestjs/common';
import { EVENT_STORE, type EventStore, type StoreHealth } from '@ledger/event-store';

@Controller('health')
export class HealthController {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  /** Always 200 while the process serves: the body says whether the store answers. */
  @Get()
  @HttpCode(200)
  async health(): Promise<{ status: 'ok' | 'degraded'; store: StoreHealth }> {
    const store = await this.store.health();
    return { status: store.reachable ? 'ok' : 'degraded', store };
  }
}
