// Every metric name the gateway exports. Traefik's own names are kept wherever Traefik has the metric,
// so that Traefik dashboards and the seed's queries (sum(rate(traefik_entrypoint_requests_total[1m])),
// traefik_service_request_duration_seconds_bucket, …) work on Stampgate unchanged; what Traefik does
// not have (stamps, passive ejection, tenant directory, config version) is `stampgate_*`.

export const ENTRYPOINT_METRICS = {
  requests: 'traefik_entrypoint_requests_total',
  duration: 'traefik_entrypoint_request_duration_seconds',
  requestBytes: 'traefik_entrypoint_requests_bytes_total',
  responseBytes: 'traefik_entrypoint_responses_bytes_total',
} as const;

export const ROUTER_METRICS = {
  requests: 'traefik_router_requests_total',
  duration: 'traefik_router_request_duration_seconds',
  requestBytes: 'traefik_router_requests_bytes_total',
  responseBytes: 'traefik_router_responses_bytes_total',
} as const;

export const SERVICE_METRICS = {
  requests: 'traefik_service_requests_total',
  duration: 'traefik_service_request_duration_seconds',
  requestBytes: 'traefik_service_requests_bytes_total',
  responseBytes: 'traefik_service_responses_bytes_total',
} as const;

/** Stampgate: per stamp of a `stamps` service. */
export const STAMP_METRICS = {
  requests: 'stampgate_stamp_requests_total',
  duration: 'stampgate_stamp_request_duration_seconds',
  requestBytes: 'stampgate_stamp_requests_bytes_total',
  responseBytes: 'stampgate_stamp_responses_bytes_total',
} as const;

export const GATEWAY_METRICS = {
  openConnections: 'traefik_open_connections',
  serviceRetries: 'traefik_service_retries_total',
  serverUp: 'traefik_service_server_up',
  serverEjected: 'stampgate_service_server_ejected',
  serverEjections: 'stampgate_service_server_ejections_total',
  configReloads: 'traefik_config_reloads_total',
  configLastReloadSuccess: 'traefik_config_last_reload_success',
  configReloadFailures: 'traefik_config_reloads_failure_total',
  configLastReloadFailure: 'traefik_config_last_reload_failure',
  configLastReloadSuccessful: 'stampgate_config_last_reload_successful',
  configVersion: 'stampgate_config_version',
  tenantDirectoryTenants: 'stampgate_tenant_directory_tenants',
} as const;

export const CONTROL_PLANE_METRICS = {
  operations: 'stampgate_control_operations',
  operationTransitions: 'stampgate_control_operation_transitions_total',
  operationDuration: 'stampgate_control_operation_duration_seconds',
  stamps: 'stampgate_control_stamps',
  tenants: 'stampgate_control_tenants',
  configVersion: 'stampgate_control_config_version',
  configWatchers: 'stampgate_control_config_watchers',
} as const;
