// The dashboard's view of a gateway running in this process, built from the gateway API's own view
// functions (the same answers as /api/rawdata and /api/stamps) and its /readyz, plus a traffic
// sampler over the /stampsz counters. Imported by cli/ only: the control plane gets the result as
// a plain DashboardGateway and never loads gateway code.
//
//   const traffic = new StampTrafficRecorder();
//   const gateway = new Gateway({ staticConfig, observer: new TrafficRecordingObserver(observer, traffic) });
//   const source = dashboardGateway(gateway, { url: 'http://127.0.0.1:3000', traffic });
import type { Gateway } from '../gateway/gateway.ts';
import { createView } from '../gateway/api/api-view.ts';
import { allEntryPoints } from '../gateway/api/entrypoints.ts';
import { createGatewayApi } from '../gateway/api/gateway-api.ts';
import { allMiddlewares } from '../gateway/api/middlewares.ts';
import { overviewBody } from '../gateway/api/overview.ts';
import { allRouters } from '../gateway/api/routers.ts';
import { allServices } from '../gateway/api/services.ts';
import { stampsBody } from '../gateway/api/stamps.ts';
import type { DashboardGateway } from './sources.ts';
import type { StampTrafficRecorder } from './stamp-traffic.ts';
import { TrafficSampler } from './traffic-sampler.ts';

export interface DashboardGatewayOptions {
  url?: string;
  /** Per-stamp answers and times (error rate, p95); without it the charts show requests per second only. */
  traffic?: StampTrafficRecorder;
  sampleIntervalMs?: number;
  log?: (line: string) => void;
}

export function dashboardGateway(gateway: Gateway, options: DashboardGatewayOptions = {}): DashboardGateway {
  const sampler = new TrafficSampler({ readCounts: () => gateway.counters.snapshot().by_stamp, recorder: options.traffic, intervalMs: options.sampleIntervalMs });
  sampler.start();
  const view = () => createView(gateway, new URLSearchParams());
  return {
    ...(options.url !== undefined ? { url: options.url } : {}),
    stamps: () => stampsBody(view()),
    routing: () => {
      const v = view();
      return { overview: overviewBody(v), routers: allRouters(v), services: allServices(v), middlewares: allMiddlewares(v), entryPoints: allEntryPoints(v) };
    },
    readiness: () => gateway.readiness(),
    traffic: () => sampler.report(),
    api: createGatewayApi(gateway, { log: options.log }),
    close: () => sampler.stop(),
  };
}
