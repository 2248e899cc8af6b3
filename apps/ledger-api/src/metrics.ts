import { Controller, Get, Header, Inject, Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { EVENT_STORE, type EventStore } from '@ledger/event-store';
import { Projector } from '@ledger/projections';
import { Roles } from './http/api-keys';
import { projectorLag } from './health.controller';

/** The service's Prometheus metrics, on a registry of its own (so two apps in one process do not share counters). */
@Injectable()
export class Metrics {
  readonly registry = new Registry();
  readonly decisions = new Counter({ name: 'ledger_decisions_total', help: 'Service request decisions recorded, by SRV, outcome and response code', labelNames: ['srv', 'outcome', 'code'], registers: [this.registry] });
  readonly decisionSeconds = new Histogram({ name: 'ledger_decision_duration_seconds', help: 'From arrival to a recorded (durable) decision', buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [this.registry] });
  readonly judgedLateSeconds = new Histogram({
    name: 'ledger_decision_judged_late_seconds',
    help: "Decisions judged later than their request was received, by how much: its device's last decision had been judged later (two processes on one store; a clock ahead)",
    buckets: [0.001, 0.01, 0.1, 1, 10, 60, 600, 3600, 86400],
    registers: [this.registry],
  });
  readonly appendSeconds = new Histogram({ name: 'ledger_store_append_duration_seconds', help: 'One append to the event store, until durable', buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers: [this.registry] });
  readonly groupSize = new Histogram({ name: 'ledger_store_group_commit_appends', help: 'Appends written by one group commit (one transaction and fsync)', buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256], registers: [this.registry] });
  readonly httpRequests = new Counter({ name: 'ledger_http_requests_total', help: 'HTTP requests by method, route and status', labelNames: ['method', 'route', 'status'], registers: [this.registry] });
  readonly httpSeconds = new Histogram({ name: 'ledger_http_request_duration_seconds', help: 'HTTP request duration by method and route', labelNames: ['method', 'route'], buckets: [0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 5], registers: [this.registry] });

  constructor(@Inject(EVENT_STORE) store: EventStore, projector: Projector) {
    collectDefaultMetrics({ register: this.registry, prefix: 'ledger_' });
    new Gauge({
      name: 'ledger_projector_position',
      help: 'Store position of the last event in the read models',
      registers: [this.registry],
      collect() {
        this.set(Number(projector.position ?? 0n));
      },
    });
    new Gauge({
      name: 'ledger_projector_lag_events',
      help: 'Events the read models trail the store by (SQLite store)',
      registers: [this.registry],
      async collect() {
        const lag = await projectorLag(store, projector).catch(() => null);
        if (lag !== null) this.set(lag);
      },
    });
    new Gauge({
      name: 'ledger_projector_halted',
      help: '1 when the projector halted at an event it cannot read',
      registers: [this.registry],
      collect() {
        this.set(projector.halted ? 1 : 0);
      },
    });
    store.appendStats?.subscribe(({ appends, seconds }) => {
      this.groupSize.observe(appends);
      for (let i = 0; i < appends; i++) this.appendSeconds.observe(seconds);
    });
  }
}

abstract class MetricsEndpoint {
  constructor(private readonly metrics: Metrics) {}
  @Get()
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}

/** `/metrics` behind an auditor (or admin) key: LEDGER_METRICS_ACCESS=key, the default. */
@Controller('metrics')
@Roles('auditor')
export class KeyedMetricsController extends MetricsEndpoint {
  constructor(metrics: Metrics) {
    super(metrics);
  }
}

/** `/metrics` open to any scraper that reaches the port: LEDGER_METRICS_ACCESS=public. */
@Controller('metrics')
export class PublicMetricsController extends MetricsEndpoint {
  constructor(metrics: Metrics) {
    super(metrics);
  }
}
