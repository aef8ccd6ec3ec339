import { checkNumber, type Disposer } from '@scanner/core'

/**
 * Longest string kept in an event field, by field. Longer values are cut (with `…`), control
 * characters are replaced by spaces, so no event a client or cloudflared influences can grow
 * beyond these bounds: an event is at most about 1 KiB as JSON.
 */
export const STATUS_FIELD_LIMITS = Object.freeze({
  /** `state`, `previous`, `reason`, `strategy`, `status`, `source`, `errorId`. */
  word: 48,
  /** `key` (a breaker's route key), `protocol`. */
  key: 160,
  /** `message`, `detail`. */
  text: 400,
})

/** The kinds of events the history keeps. */
export type StatusEventKind = 'state' | 'restart' | 'quic' | 'dns' | 'breaker' | 'error'

/** Every kind, in display order. */
export const STATUS_EVENT_KINDS: readonly StatusEventKind[] = Object.freeze([
  'state',
  'restart',
  'quic',
  'dns',
  'breaker',
  'error',
])

interface EventBase {
  /** Sequence number, from 1, increasing by one per event (the SSE event id). */
  readonly seq: number
  /** When it happened, in milliseconds since the epoch. */
  readonly at: number
}

/** The tunnel changed state (`running`, `degraded`, `backoff`, ...). */
export interface StatusStateEvent extends EventBase {
  readonly kind: 'state'
  readonly state: string
  readonly previous: string
}

/** The tunnel is about to restart cloudflared. */
export interface StatusRestartEvent extends EventBase {
  readonly kind: 'restart'
  /** `exit`, `quic-timeouts`, `not-ready`, `dns`, `manual`, ... */
  readonly reason: string
  /** `make-before-break` or `break-before-make`, when the supervisor says. */
  readonly strategy?: string
  /** Delay before the new start, in milliseconds. */
  readonly delayMs?: number
  /** Exit code of the process that ended on its own. */
  readonly exitCode?: number
  /** Time from the new replica's start to the old one's stop (make-before-break). */
  readonly handoverMs?: number
}

/** A QUIC timeout incident on one connection. */
export interface StatusQuicEvent extends EventBase {
  readonly kind: 'quic'
  readonly connIndex?: number
  /** Incidents in the supervisor's window, this one included. */
  readonly incidents?: number
}

/** A DNS episode starts (`failure`, `network-down`) or ends (`recovered`). */
export interface StatusDnsEvent extends EventBase {
  readonly kind: 'dns'
  readonly status: 'failure' | 'network-down' | 'recovered'
  /** What failed (first failing name and its error), cut to {@link STATUS_FIELD_LIMITS}. */
  readonly detail?: string
}

/** A route's circuit breaker changed state. */
export interface StatusBreakerEvent extends EventBase {
  readonly kind: 'breaker'
  readonly key: string
  readonly state: string
  readonly previous: string
}

/** An error worth an operator's attention, by error ID when it has one. */
export interface StatusErrorEvent extends EventBase {
  readonly kind: 'error'
  /** The error ID given to the client and written to the log (`err_…`). */
  readonly errorId?: string
  readonly message: string
  /** Where it came from: `api`, `tunnel`, ... */
  readonly source?: string
  /** HTTP status of the response, for request errors. */
  readonly status?: number
}

/** One timestamped event of a {@link StatusHistory}. */
export type StatusEvent =
  | StatusStateEvent
  | StatusRestartEvent
  | StatusQuicEvent
  | StatusDnsEvent
  | StatusBreakerEvent
  | StatusErrorEvent

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

/** What {@link StatusHistory.add} takes: an event without `seq`; `at` defaults to now. */
export type StatusEventInput = DistributiveOmit<StatusEvent, 'seq' | 'at'> & {
  readonly at?: number
}

/** Options of {@link createStatusHistory}. */
export interface StatusHistoryOptions {
  /**
   * Events kept; the oldest is dropped beyond it. With about 1 KiB per event at most, the
   * default keeps the history under 1 MiB.
   * @default 1000
   */
  readonly capacity?: number
}

/** Which events {@link StatusHistory.events} returns. */
export interface StatusHistoryQuery {
  /** Only events with a larger sequence number (the SSE `Last-Event-ID`). */
  readonly afterSeq?: number
  /** Only events at or after this time (ms since the epoch). */
  readonly sinceMs?: number
  /** Only these kinds. */
  readonly kinds?: readonly StatusEventKind[]
}

/** The history as JSON (`/status/history.json`). */
export interface StatusHistoryJson {
  readonly capacity: number
  readonly size: number
  /** Sequence number of the newest event (0 when empty). */
  readonly lastSeq: number
  /** Events dropped because the ring was full. */
  readonly dropped: number
  readonly events: readonly StatusEvent[]
}

/** A bounded ring of timestamped events; see {@link createStatusHistory}. */
export interface StatusHistory {
  readonly capacity: number
  /** Events currently kept. */
  readonly size: number
  /** Sequence number of the newest event (0 when empty). */
  readonly lastSeq: number
  /**
   * Records an event: strings are cut to {@link STATUS_FIELD_LIMITS} and cleaned of control
   * characters, unknown fields are dropped. Returns the stored event. Throws a `TypeError`
   * naming the field for an unknown kind or a missing required field.
   */
  add(input: StatusEventInput): StatusEvent
  /** Events oldest first, optionally filtered. */
  events(query?: StatusHistoryQuery): StatusEvent[]
  /**
   * The newest event of `kind`, kept even after the ring dropped it (so the page knows how long
   * the tunnel has been in its state).
   */
  latest<K extends StatusEventKind>(kind: K): Extract<StatusEvent, { kind: K }> | undefined
  /** Calls `listener` with every event added from now on; returns a disposer. */
  subscribe(listener: (event: StatusEvent) => void): Disposer
  toJSON(): StatusHistoryJson
}

/** Defaults of {@link StatusHistoryOptions}. */
export const statusHistoryDefaults = Object.freeze({ capacity: 1000 })

// C0 and C1 controls, DEL, and the JavaScript line separators.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g

/**
 * A string cut to `max` characters (never splitting a surrogate pair) with control characters
 * replaced by spaces; `undefined` for `undefined`/`null`.
 */
export function clip(value: unknown, max: number): string | undefined {
  if (value === undefined || value === null) return undefined
  let text = (
    typeof value === 'string'
      ? value
      : typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint'
        ? String(value)
        : JSON.stringify(value)
  ).replace(CONTROL, ' ')
  if (text.length > max) {
    let end = max - 1
    const code = text.charCodeAt(end - 1)
    if (code >= 0xd800 && code <= 0xdbff) end--
    text = `${text.slice(0, end)}…`
  }
  return text
}

const finite = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined

function required(kind: string, field: string, value: unknown, max: number): string {
  const text = clip(value, max)
  if (text === undefined || text === '') {
    throw new TypeError(`status event "${kind}": "${field}" must be a non-empty string`)
  }
  return text
}

/** `entries` without its undefined fields (the events' JSON stays minimal). */
function defined<T extends StatusEvent>(entries: {
  readonly [K in keyof Required<T>]: Required<T>[K] | undefined
}): T {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(entries)) if (value !== undefined) out[key] = value
  return out as T
}

const DNS_STATUSES = ['failure', 'network-down', 'recovered'] as const

function normalise(input: StatusEventInput, seq: number, now: number): StatusEvent {
  if (typeof input !== 'object' || (input as unknown) === null) {
    throw new TypeError('status event must be an object')
  }
  const at = finite(input.at) ?? now
  const { word, key, text } = STATUS_FIELD_LIMITS
  switch (input.kind) {
    case 'state':
      return {
        seq,
        at,
        kind: 'state',
        state: required('state', 'state', input.state, word),
        previous: clip(input.previous, word) ?? '',
      }
    case 'restart':
      return defined<StatusRestartEvent>({
        seq,
        at,
        kind: 'restart',
        reason: required('restart', 'reason', input.reason, word),
        strategy: clip(input.strategy, word),
        delayMs: finite(input.delayMs),
        exitCode: finite(input.exitCode),
        handoverMs: finite(input.handoverMs),
      })
    case 'quic':
      return defined<StatusQuicEvent>({
        seq,
        at,
        kind: 'quic',
        connIndex: finite(input.connIndex),
        incidents: finite(input.incidents),
      })
    case 'dns': {
      if (!(DNS_STATUSES as readonly unknown[]).includes(input.status)) {
        throw new TypeError(
          `status event "dns": "status" must be one of ${DNS_STATUSES.join(', ')}`,
        )
      }
      return defined<StatusDnsEvent>({
        seq,
        at,
        kind: 'dns',
        status: input.status,
        detail: clip(input.detail, text),
      })
    }
    case 'breaker':
      return {
        seq,
        at,
        kind: 'breaker',
        key: required('breaker', 'key', input.key, key),
        state: required('breaker', 'state', input.state, word),
        previous: clip(input.previous, word) ?? '',
      }
    case 'error':
      return defined<StatusErrorEvent>({
        seq,
        at,
        kind: 'error',
        errorId: clip(input.errorId, word),
        message: clip(input.message, text) ?? '',
        source: clip(input.source, word),
        status: finite(input.status),
      })
    default:
      throw new TypeError(
        `status event: "kind" must be one of ${STATUS_EVENT_KINDS.join(', ')}, got ${JSON.stringify(clip((input as { kind?: unknown }).kind, word) ?? null)}`,
      )
  }
}

/**
 * Creates the bounded event history behind the status page: a ring of `capacity` timestamped
 * events (tunnel state changes, restarts with reason and strategy, QUIC incidents, DNS
 * episodes, breaker transitions, errors by error ID). Each event is at most about 1 KiB as
 * JSON ({@link STATUS_FIELD_LIMITS}), so the whole history stays under `capacity` KiB whatever
 * clients or cloudflared send. It lives in memory: a process restart loses it (the log keeps
 * the full record).
 *
 * @example
 * ```ts
 * const history = createStatusHistory({ capacity: 1000 })
 * history.add({ kind: 'restart', reason: 'quic-timeouts', strategy: 'make-before-break' })
 * history.events({ sinceMs: Date.now() - 3_600_000 })
 * ```
 */
export function createStatusHistory(options: StatusHistoryOptions = {}): StatusHistory {
  const capacity = checkNumber('capacity', options.capacity, statusHistoryDefaults.capacity, {
    min: 1,
    max: 100_000,
    integer: true,
  })
  const ring: (StatusEvent | undefined)[] = new Array<StatusEvent | undefined>(capacity)
  let start = 0
  let size = 0
  let lastSeq = 0
  let dropped = 0
  const latest = new Map<StatusEventKind, StatusEvent>()
  const listeners = new Set<(event: StatusEvent) => void>()

  const history: StatusHistory = {
    capacity,
    get size() {
      return size
    },
    get lastSeq() {
      return lastSeq
    },
    add(input) {
      const event = normalise(input, lastSeq + 1, Date.now())
      lastSeq = event.seq
      if (size < capacity) {
        ring[(start + size) % capacity] = event
        size++
      } else {
        ring[start] = event
        start = (start + 1) % capacity
        dropped++
      }
      const previous = latest.get(event.kind)
      if (previous === undefined || previous.at <= event.at) latest.set(event.kind, event)
      for (const listener of [...listeners]) {
        try {
          listener(event)
        } catch {
          // A listener's failure is its own; the history and the other listeners go on.
        }
      }
      return event
    },
    events(query = {}) {
      const out: StatusEvent[] = []
      const kinds = query.kinds === undefined ? undefined : new Set(query.kinds)
      for (let i = 0; i < size; i++) {
        const event = ring[(start + i) % capacity]
        if (event === undefined) continue
        if (query.afterSeq !== undefined && event.seq <= query.afterSeq) continue
        if (query.sinceMs !== undefined && event.at < query.sinceMs) continue
        if (kinds !== undefined && !kinds.has(event.kind)) continue
        out.push(event)
      }
      return out
    },
    latest<K extends StatusEventKind>(kind: K) {
      return latest.get(kind) as Extract<StatusEvent, { kind: K }> | undefined
    },
    subscribe(listener) {
      if (typeof listener !== 'function') throw new TypeError('listener must be a function')
      listeners.add(listener)
      return () => {
        listeners.delete(listener)
      }
    },
    toJSON() {
      return { capacity, size, lastSeq, dropped, events: history.events() }
    },
  }
  return history
}
