/**
 * Classification of cloudflared output lines. OWNED BY THE CLASSIFIER WORK: the types below are
 * the contract the supervisor builds on; the implementation is being written.
 */

/** What a line of cloudflared output means to a supervisor. */
export type CloudflaredEventKind =
  | 'quic-timeout'
  | 'dns-failure'
  | 'connection-registered'
  | 'connection-lost'
  | 'retrying'
  | 'protocol-fallback'
  | 'auth-failure'
  | 'origin-error'
  | 'metrics-started'
  | 'quick-tunnel-url'
  | 'shutdown'
  | 'fatal'
  | 'other'

/** Log level of a line, normalised from zerolog's console and JSON spellings. */
export type CloudflaredLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'panic'

/** One classified line of cloudflared output. */
export interface CloudflaredEvent {
  readonly kind: CloudflaredEventKind
  /** Normalised level; `info` when the line carries none (plain lines). */
  readonly level: CloudflaredLevel
  /** The line's own timestamp (ISO 8601) when it has one. */
  readonly time: string | undefined
  /** The log message (may be empty: cloudflared logs request errors with an empty message). */
  readonly message: string
  /** Parsed `key=value` (console) or JSON fields, `error` included, all as strings. */
  readonly fields: Readonly<Record<string, string>>
  /** `connIndex` field, when present. */
  readonly connIndex?: number
  /** `error` field, when present. */
  readonly error?: string
  /** Quick-tunnel URL (`https://….trycloudflare.com`), for `quick-tunnel-url`. */
  readonly url?: string
  /** Metrics address (`127.0.0.1:20241`), for `metrics-started`. */
  readonly address?: string
}

/**
 * Turns one line of cloudflared output into a typed event. Never throws.
 * (Stub: classifies everything as `other` until the classifier lands.)
 */
export function classifyCloudflaredLine(line: string): CloudflaredEvent {
  return {
    kind: 'other',
    level: 'info',
    time: undefined,
    message: String(line).slice(0, 8192),
    fields: {},
  }
}
