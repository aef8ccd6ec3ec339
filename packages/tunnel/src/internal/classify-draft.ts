/**
 * The event under construction: the parser creates it with every property of
 * `CloudflaredEvent` (always in the same order, so every event has the same shape), and the rules
 * fill in the rest.
 */
import type { CloudflaredEventKind, CloudflaredLevel, CloudflaredLineFormat } from '../classify.js'

export interface Draft {
  kind: CloudflaredEventKind
  level: CloudflaredLevel
  time: string | undefined
  message: string
  fields: Record<string, string>
  connIndex: number | undefined
  error: string | undefined
  url: string | undefined
  address: string | undefined
  failure: boolean
  fatal: boolean | undefined
  dns: boolean | undefined
  quic: boolean | undefined
  usage: boolean | undefined
  rateLimited: boolean | undefined
  delayMs: number | undefined
  protocol: string | undefined
  location: string | undefined
  ip: string | undefined
  connectionId: string | undefined
  signal: string | undefined
  format: CloudflaredLineFormat
  continuation: boolean | undefined
  truncated: boolean | undefined
}

/** `true` for 1 to 9 ASCII digits. */
export function isSmallNumber(s: string): boolean {
  const n = s.length
  if (n === 0 || n > 9) return false
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c < 48 || c > 57) return false
  }
  return true
}

/** A draft of kind `other` for a parsed line; `level` defaults to `info`. */
export function newDraft(
  format: CloudflaredLineFormat,
  level: CloudflaredLevel | undefined,
  time: string | undefined,
  message: string,
  fields: Record<string, string>,
  truncated: boolean,
): Draft {
  const ci = fields.connIndex
  return {
    kind: 'other',
    level: level ?? 'info',
    time,
    message,
    fields,
    connIndex: ci !== undefined && isSmallNumber(ci) ? Number(ci) : undefined,
    error: fields.error,
    url: undefined,
    address: undefined,
    failure: false,
    fatal: undefined,
    dns: undefined,
    quic: undefined,
    usage: undefined,
    rateLimited: undefined,
    delayMs: undefined,
    protocol: fields.protocol,
    location: fields.location,
    ip: fields.ip,
    connectionId: fields.connection,
    signal: undefined,
    format,
    continuation: undefined,
    truncated: truncated ? true : undefined,
  }
}
