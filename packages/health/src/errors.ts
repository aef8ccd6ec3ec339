/** Codes of the errors thrown by `@scanner/health` (as `ScannerError` of `@scanner/core`). */
export type HealthErrorCode =
  | 'ERR_HEALTH_DNS_CLOSED'
  | 'ERR_HEALTH_RESOLV_CONF_SYMLINK'
  | 'ERR_HEALTH_RESOLV_CONF_NO_SERVERS'
  | 'ERR_HEALTH_OPERATOR_LISTEN'
  | 'ERR_HEALTH_CLOSED'
