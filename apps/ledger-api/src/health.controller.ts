import { Controller, Get, HttpCode, Inject } from '@nestjs/common';
import { EVENT_STORE, type EventStore, type StoreHealth } from '@ledger/event-store';
import { Projector } from '@ledger/projections';

@Controller('health')
export class HealthController {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly projector: Projector,
  ) {}

  /** 200 while the process serves (no key needed): the body says whether the store answers and how far the read models are. */
  @Get()
  @HttpCode(200)
  async health(): Promise<{ status: 'ok' | 'degraded'; store: StoreHealth; readModels: { position: string | null } }> {
    const store = await this.store.health();
    return { status: store.reachable ? 'ok' : 'degraded', store, readModels: { position: this.projector.position?.toString() ?? null } };
  }
}
