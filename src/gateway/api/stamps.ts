// GET /api/stamps (Stampgate): every stamp of every stamps service, with its servers' state and
// the requests sent to it (the /stampsz counters), and the size of the tenant directory.
import type { ApiAnswer, ApiView } from './api-view.ts';
import { qualified } from './names.ts';
import { stampView, type StampView } from './stamp-view.ts';

export interface StampEntryView extends StampView {
  /** The stamps service the stamp belongs to (`app@file`). */
  service: string;
  /** Requests sent to this stamp since the gateway started (shared by stamps of the same id). */
  requests: number;
}

export interface StampsBody {
  configVersion: number;
  tenantDirectory: { size: number };
  totalRequests: number;
  stamps: StampEntryView[];
}

export function stampsBody(view: ApiView): StampsBody {
  const counts = view.gateway.counters.snapshot();
  const stamps: StampEntryView[] = [];
  for (const service of view.config?.stampsServices ?? []) {
    for (const stamp of service.stamps) {
      stamps.push({ service: qualified(service.name), ...stampView(service, stamp, view.clock), requests: counts.by_stamp[stamp.id] ?? 0 });
    }
  }
  return { configVersion: view.config?.version ?? 0, tenantDirectory: { size: view.gateway.directory.size }, totalRequests: counts.total_requests, stamps };
}

export function getStamps(view: ApiView): ApiAnswer {
  return { body: stampsBody(view) };
}
