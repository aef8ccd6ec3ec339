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

/**
 * The fields an event copies (`connIndex`, `error`, `protocol`, `location`, `ip`, `connection`)
 * of the line being parsed, noted by the parser as it finds them: reading them back from the
 * `fields` record would be a lookup per property on a record of varying shape.
 */
const noted = {
  connIndex: undefined as string | undefined,
  error: undefined as string | undefined,
  protocol: undefined as string | undefined,
  location: undefined as string | undefined,
  ip: undefined as string | undefined,
  connection: undefined as string | undefined,
}

/** Forgets the noted fields (a new line, or a new attempt at its field run). */
export function clearNotedFields(): void {
  noted.connIndex = undefined
  noted.error = undefined
  noted.protocol = undefined
  noted.location = undefined
  noted.ip = undefined
  noted.connection = undefined
}

/** Notes the field `key` = `value` if it is one the event copies (a later one wins, as in `fields`). */
export function noteField(key: string, value: string): void {
  switch (key) {
    case 'connIndex':
      noted.connIndex = value
      break
    case 'error':
      noted.error = value
      break
    case 'protocol':
      noted.protocol = value
      break
    case 'location':
      noted.location = value
      break
    case 'ip':
      noted.ip = value
      break
    case 'connection':
      noted.connection = value
      break
    default:
  }
}

/** Notes the fields the event copies from a whole record (JSON lines). */
export function noteFieldsOf(fields: Readonly<Record<string, string>>): void {
  noted.connIndex = fields.connIndex
  noted.error = fields.error
  noted.protocol = fields.protocol
  noted.location = fields.location
  noted.ip = fields.ip
  noted.connection = fields.connection
}

/**
 * A draft of kind `other` for a parsed line, with the noted fields; `level` defaults to `info`.
 * `fields` must hold what was noted (see `noteField()`, `noteFieldsOf()`).
 */
export function newDraft(
  format: CloudflaredLineFormat,
  level: CloudflaredLevel | undefined,
  time: string | undefined,
  message: string,
  fields: Record<string, string>,
  truncated: boolean,
): Draft {
  const ci = noted.connIndex
  return {
    kind: 'other',
    level: level ?? 'info',
    time,
    message,
    fields,
    connIndex: ci !== undefined && isSmallNumber(ci) ? Number(ci) : undefined,
    error: noted.error,
    url: undefined,
    address: undefined,
    failure: false,
    fatal: undefined,
    dns: undefined,
    quic: undefined,
    usage: undefined,
    rateLimited: undefined,
    delayMs: undefined,
    protocol: noted.protocol,
    location: noted.location,
    ip: noted.ip,
    connectionId: noted.connection,
    signal: undefined,
    format,
    continuation: undefined,
    truncated: truncated ? true : undefined,
  }
}
