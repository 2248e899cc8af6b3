import { Controller, Get, Inject, Res } from '@nestjs/common';
import { EVENT_STORE, type EventStore, type StoreHealth } from '@ledger/event-store';
import { Projector, type ProjectorHalt } from '@ledger/projections';

interface HealthBody {
  status: 'ok' | 'store-unreachable' | 'projector-halted';
  store: StoreHealth;
  readModels: { position: string | null; halted: ProjectorHalt | null };
}

@Controller('health')
export class HealthController {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly projector: Projector,
  ) {}

  /**
   * No key needed. 200 when the store answers and the read models are following it; 503 when the
   * store is unreachable, or when the projector halted at an event it cannot read (the body names
   * its position and the reason).
   */
  @Get()
  async health(@Res({ passthrough: true }) res: { status(code: number): unknown }): Promise<HealthBody> {
    const store = await this.store.health();
    const halted = this.projector.halted ?? null;
    const status = !store.reachable ? 'store-unreachable' : halted ? 'projector-halted' : 'ok';
    res.status(status === 'ok' ? 200 : 503);
    return { status, store, readModels: { position: this.projector.position?.toString() ?? null, halted } };
  }
}
