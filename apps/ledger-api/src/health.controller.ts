import { Controller, Get, Inject, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService, type HealthCheckResult } from '@nestjs/terminus';
import { EVENT_STORE, type EventStore, type StoreHealth } from '@ledger/event-store';
import { Projector, type ProjectorFailing, type ProjectorHalt, type ProjectorReplaced } from '@ledger/projections';
import { LEDGER_CONFIG, type LedgerConfig } from '@ledger/runtime';

interface HealthBody {
  status: 'ok' | 'store-unreachable' | 'projector-halted' | 'projector-failing';
  store: StoreHealth;
  readModels: { position: string | null; halted: ProjectorHalt | null; failing: ProjectorFailing | null; lag: number | null; replaced: ProjectorReplaced | null };
}

/** Events the read models trail the store by (SQLite positions are gapless: a count of events); null where positions are not counts. */
export async function projectorLag(store: EventStore, projector: Projector): Promise<number | null> {
  if (store.kind !== 'sqlite') return null;
  const head = (await store.headPosition()) ?? 0n;
  return Number(head - (projector.position ?? 0n));
}

/**
 * GET /health/ready's 503: the checks down, said in `message`, with Terminus's `status`, `info` and `details`; answered in the API's
 * error shape by the errors filter, code NOT_READY.
 */
export class NotReadyError extends Error {
  override readonly name = 'NotReadyError';
  constructor(
    message: string,
    readonly status: HealthCheckResult['status'],
    readonly info: HealthCheckResult['info'],
    readonly details: HealthCheckResult['details'],
  ) {
    super(message);
  }
}

/** No key needed on any of these. */
@Controller('health')
export class HealthController {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly projector: Projector,
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    @Inject(LEDGER_CONFIG) private readonly config: LedgerConfig,
  ) {}

  /**
   * 200 when the store answers and the read models are following it; 503 when the store is
   * unreachable, or when the projector halted at an event it cannot read, or on read models this
   * store's log did not make (the body names the position and the reason), or while its attempts
   * fail and it retries (the read models cannot be written: a full disk, say; `failing` says since
   * when and why). `replaced`: when this process last found its read-model file replaced by another
   * process's (a rebuild job's swap) and reopened it, at that file's checkpoint.
   */
  @Get()
  async summary(@Res({ passthrough: true }) res: { status(code: number): unknown }): Promise<HealthBody> {
    const store = await this.store.health();
    const halted = this.projector.halted ?? null;
    const failing = this.projector.failing ?? null;
    const status = !store.reachable ? 'store-unreachable' : halted ? 'projector-halted' : failing ? 'projector-failing' : 'ok';
    res.status(status === 'ok' ? 200 : 503);
    const lag = store.reachable ? await projectorLag(this.store, this.projector) : null;
    return { status, store, readModels: { position: this.projector.position?.toString() ?? null, halted, failing, lag, replaced: this.projector.replaced ?? null } };
  }

  /** Liveness: the process serves HTTP (a restart is the remedy when this fails). */
  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }

  /**
   * Readiness: the store answers, the projector has not halted and is not failing, and the read
   * models trail the store by at most LEDGER_READY_MAX_LAG events. 200 with Terminus's body; a 503
   * in the API's error shape (`statusCode`, `error` the reason phrase, `code: NOT_READY`, `message`
   * naming what is down), with Terminus's `status`, `info` and `details` (every check, those down
   * with `status: down` and why). Until 2026-11-28 (eighteenth session) the 503 was Terminus's body
   * alone, whose `error` held the checks down, unlike every other error of the API.
   */
  @Get('ready')
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  @ApiOperation({ summary: "Readiness: 200 when the store answers and the read models follow it; else 503 in the API's error shape (code NOT_READY), with every check under `details`" })
  @ApiOkResponse({ description: "Ready: Terminus's body {status: 'ok', info: every check up, error: {}, details}" })
  @ApiServiceUnavailableResponse({ description: "Not ready: {statusCode: 503, error, code: NOT_READY, message naming each check down and why, status: 'error', info, details: every check}" })
  async ready() {
    try {
      return await this.readiness();
    } catch (err) {
      if (!(err instanceof ServiceUnavailableException)) throw err;
      const { status, info, error, details } = err.getResponse() as HealthCheckResult;
      const down = Object.entries(error ?? {}).map(([name, check]) => notReady(name, check));
      // Terminus shutting down (the application's shutdown begun) answers 503 with every check up: no check to name.
      const why = down.length > 0 ? down.join('; ') : status === 'shutting_down' ? 'shutting down' : status;
      throw new NotReadyError(`not ready: ${why}`, status, info, details);
    }
  }

  private readiness() {
    return this.health.check([
      async () => {
        const s = await this.store.health();
        const check = this.indicator.check('store');
        return s.reachable ? check.up({ kind: s.kind }) : check.down({ kind: s.kind, detail: s.detail });
      },
      async () => {
        const check = this.indicator.check('projector');
        const halted = this.projector.halted;
        if (halted) return check.down({ halted });
        const failing = this.projector.failing;
        if (failing) return check.down({ failing });
        const lag = await projectorLag(this.store, this.projector).catch(() => null);
        const position = this.projector.position?.toString() ?? null;
        return lag !== null && lag > this.config.readyMaxLag ? check.down({ position, lag, maxLag: this.config.readyMaxLag }) : check.up({ position, lag });
      },
    ]);
  }
}

/** What a readiness check down says of itself (`store`'s, `projector`'s as ready() makes them), in words. */
function notReady(name: string, check: Record<string, unknown> | undefined): string {
  const { detail, halted, failing, lag, maxLag, message } = (check ?? {}) as { detail?: string; halted?: ProjectorHalt; failing?: ProjectorFailing; lag?: number; maxLag?: number; message?: string };
  if (halted) return `${name} halted at position ${halted.position}: ${halted.reason}`;
  if (failing) return `${name} failing since ${failing.since} (${failing.during}): ${failing.reason}`;
  if (lag !== undefined) return `${name} ${lag} event(s) behind the store, more than LEDGER_READY_MAX_LAG (${maxLag})`;
  if (name === 'store') return `store unreachable${detail ? `: ${detail}` : ''}`;
  return `${name} down${message ? `: ${message}` : ''}`;
}
