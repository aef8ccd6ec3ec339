/**
 * Classification of cloudflared output lines: `classifyCloudflaredLine()` (pure, one line at a
 * time) and `createLineClassifier()` (stateful: knows about shutdowns and QUIC incidents).
 */
import { classifyParsed } from './internal/classify-rules.js'
import { MAX_LINE_LENGTH, lastParsedLevel, parseLine } from './internal/classify-parse.js'

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

/**
 * How the line was written: zerolog `console` text, zerolog `json` (`--output json` or the
 * `--logfile` format), Go `stdlib` log (quic-go), or `plain` text (urfave/cli errors, help text,
 * the continuation of a multi-line message).
 */
export type CloudflaredLineFormat = 'console' | 'json' | 'plain' | 'stdlib'

/** One classified line of cloudflared output. */
export interface CloudflaredEvent {
  readonly kind: CloudflaredEventKind
  /**
   * Normalised level. Lines that carry none get one from their meaning: `error` for fatal
   * plain lines (urfave/cli error text), `warn` for the quic-go buffer warning and the
   * continuation of the QUIC warning, `info` otherwise.
   */
  readonly level: CloudflaredLevel
  /** The line's own timestamp (ISO 8601) when it has one, else a docker/RFC 5424 prefix time. */
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
  /**
   * `true` when the line reports something going wrong: kinds `quic-timeout`, `dns-failure`,
   * `connection-lost`, `auth-failure`, `origin-error` and `fatal`, the QUIC-blocked warning, and
   * any `fatal` line; except benign cases (`context canceled`, debug level) and everything
   * `duringShutdown`. Always set by the classifier.
   */
  readonly failure?: boolean
  /** `true` when the process is about to exit because of this line (whatever the kind). */
  readonly fatal?: boolean
  /** `true` when the line carries a DNS resolution failure (whatever the kind). */
  readonly dns?: boolean
  /** `true` when the line is about the QUIC transport (timeouts and other QUIC errors). */
  readonly quic?: boolean
  /** `true` for command-line usage errors (bad flag, missing tunnel name, malformed token). */
  readonly usage?: boolean
  /** `true` when the quick-tunnel API answered 429 / error 1015 (do not retry quickly). */
  readonly rateLimited?: boolean
  /** Retry delay in milliseconds, for `retrying` (`Retrying connection in up to 1m4s`). */
  readonly delayMs?: number
  /** Protocol: registered with (`connection-registered`), switched to (`protocol-fallback`). */
  readonly protocol?: string
  /** Edge location (colo) of a registered connection, e.g. `ams08`. */
  readonly location?: string
  /** Edge IP of the connection, when the line has one. */
  readonly ip?: string
  /** Connection UUID of a registered connection. */
  readonly connectionId?: string
  /** Signal name of a graceful shutdown (`terminated`, `interrupt`). */
  readonly signal?: string
  /** Line format. */
  readonly format?: CloudflaredLineFormat
  /** `true` for the second physical line of a multi-line message (counts with the first). */
  readonly continuation?: boolean
  /** `true` when the line was longer than `MAX_CLASSIFIED_LINE_LENGTH` and was cut. */
  readonly truncated?: boolean
  /**
   * Only from `createLineClassifier()`: `true` for lines after a shutdown started. Their
   * `failure` is `false` and failure kinds are reported as `shutdown` (see `originalKind`).
   */
  readonly duringShutdown?: boolean
  /** Only from `createLineClassifier()`: the kind before a shutdown downgrade. */
  readonly originalKind?: CloudflaredEventKind
  /**
   * Only from `createLineClassifier()`: `true` on the first `quic-timeout` line of a QUIC
   * timeout incident on its connection (the later lines of the same incident are `false`).
   */
  readonly incidentStart?: boolean
}

/**
 * Lines longer than this (in UTF-16 code units) are cut before classification; the event then
 * has `truncated: true`.
 *
 * @example
 * ```ts
 * classifyCloudflaredLine('x'.repeat(MAX_CLASSIFIED_LINE_LENGTH + 1)).truncated // true
 * ```
 */
export const MAX_CLASSIFIED_LINE_LENGTH: number = MAX_LINE_LENGTH

function otherEvent(): CloudflaredEvent {
  return {
    kind: 'other',
    level: 'info',
    time: undefined,
    message: '',
    fields: {},
    failure: false,
    format: 'plain',
  }
}

/**
 * Turns one line of cloudflared output into a typed event. Never throws: non-string input,
 * an empty string, binary garbage or a huge line (cut at `MAX_CLASSIFIED_LINE_LENGTH`) give
 * `other` (or better). Handles the zerolog console format, both JSON formats, plain urfave/cli
 * and quic-go lines, ANSI colours, and journald, syslog, docker and docker-compose prefixes.
 *
 * When a line is both fatal and has a known cause (`Initiating shutdown error="Could not
 * lookup srv records ..."`), the kind is the cause (`dns-failure`, `auth-failure`,
 * `quic-timeout`) and `fatal: true`; otherwise fatal lines are kind `fatal`.
 *
 * @example
 * ```ts
 * const e = classifyCloudflaredLine(
 *   '2026-11-28T10:22:31Z INF Registered tunnel connection connIndex=0 connection=5f1c… event=0 ip=198.41.200.13 location=ams08 protocol=quic',
 * )
 * // e.kind === 'connection-registered', e.connIndex === 0, e.location === 'ams08'
 * ```
 */
export function classifyCloudflaredLine(line: string): CloudflaredEvent {
  if (typeof line !== 'string' || line.length === 0) return otherEvent()
  try {
    const draft = parseLine(line)
    return classifyParsed(draft, lastParsedLevel())
  } catch {
    // Defensive: the parser is written not to throw; never let a line break the caller.
    return otherEvent()
  }
}

/** A classifier with memory, for one cloudflared process at a time. */
export interface LineClassifier {
  /** Classifies one line, taking earlier lines into account. Never throws. */
  classify(line: string): CloudflaredEvent
  /** `true` once a shutdown line was seen (until `reset()` or a new startup line). */
  readonly shuttingDown: boolean
  /** Forgets everything: call it when a new cloudflared process starts. */
  reset(): void
}

/** Kinds that mean trouble and become `shutdown` once a shutdown has started. */
const DOWNGRADED_DURING_SHUTDOWN: ReadonlySet<CloudflaredEventKind> = new Set([
  'quic-timeout',
  'dns-failure',
  'connection-lost',
  'retrying',
  'protocol-fallback',
  'auth-failure',
  'origin-error',
])

const ACCEPT_LISTENER_FAILURE = 'accept stream listener encountered a failure'
const ACCEPT_FAILURE = 'failed to accept quic stream'
const MAX_TRACKED_CONNECTIONS = 256

interface ConnState {
  /** A QUIC timeout incident is open on this connection. */
  open: boolean
  /** Cause of the last QUIC stream-accept failure on this connection. */
  acceptCause: 'timeout' | 'other' | undefined
  /**
   * The incident on this connection just ended with `Retrying connection …`; the supervisor's
   * `Connection terminated` echo of the same error may still follow.
   */
  echoPending: boolean
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** `prefix` is lower case. */
function startsWithIgnoreCase(text: string, prefix: string): boolean {
  return (
    text.length >= prefix.length &&
    (text.charCodeAt(0) | 0x20) === prefix.charCodeAt(0) &&
    text.slice(0, prefix.length).toLowerCase() === prefix
  )
}

function isStartupLine(e: CloudflaredEvent): boolean {
  return (
    e.kind === 'metrics-started' ||
    startsWithIgnoreCase(e.message, 'starting tunnel') ||
    startsWithIgnoreCase(e.message, 'requesting new quick tunnel')
  )
}

function isDialMessage(message: string): boolean {
  return (
    startsWithIgnoreCase(message, 'failed to dial a quic connection') ||
    startsWithIgnoreCase(message, 'failed to create new quic connection')
  )
}

/**
 * Creates a stateful classifier for the output of one cloudflared process. On top of
 * `classifyCloudflaredLine()` it:
 *
 * - enters `shuttingDown` on any `shutdown` line (`Initiating graceful shutdown …`, `Graceful
 *   shutdown signalled`, `Unregistered tunnel connection`, `Tunnel server stopped`, `Metrics
 *   server stopped`, update exit) and on `Initiating shutdown error=…` (fatal). Every later line
 *   gets `duringShutdown: true` and `failure: false`; the kinds `quic-timeout`, `dns-failure`,
 *   `connection-lost`, `retrying`, `protocol-fallback`, `auth-failure` and `origin-error` are
 *   reported as `shutdown` with `originalKind` set. Lines with `fatal: true` keep their kind.
 *   The state ends with `reset()` or a startup line (`Starting tunnel`, `Starting metrics
 *   server`, `Requesting new quick Tunnel`).
 * - marks the first `quic-timeout` line of each incident with `incidentStart: true`: per
 *   `connIndex`, an incident stays open until `Retrying connection …` or `Registered tunnel
 *   connection` for that connection, and every QUIC dial failure starts a new one.
 * - reports `accept stream listener encountered a failure while serving` as `connection-lost`
 *   instead of `quic-timeout` when the stream-accept failure just before it on the same
 *   connection had a non-timeout cause (e.g. `Application error 0x0 (remote)`).
 *
 * @example
 * ```ts
 * const classifier = createLineClassifier()
 * for await (const line of lines) {
 *   const event = classifier.classify(line)
 *   if (event.kind === 'quic-timeout' && event.incidentStart) countQuicIncident()
 * }
 * classifier.reset() // before the next process starts
 * ```
 */
export function createLineClassifier(): LineClassifier {
  let shuttingDown = false
  const conns = new Map<number, ConnState>()

  function connState(index: number | undefined): ConnState {
    const key = index ?? -1
    let state = conns.get(key)
    if (!state) {
      if (conns.size >= MAX_TRACKED_CONNECTIONS) conns.clear()
      state = { open: false, acceptCause: undefined, echoPending: false }
      conns.set(key, state)
    }
    return state
  }

  function classify(line: string): CloudflaredEvent {
    // A fresh object from classifyCloudflaredLine(): ours to amend.
    const event = classifyCloudflaredLine(line) as Mutable<CloudflaredEvent>

    if (shuttingDown && isStartupLine(event)) {
      shuttingDown = false
      conns.clear()
    }

    if (shuttingDown) {
      event.duringShutdown = true
      if (event.fatal === true) return event
      event.failure = false
      if (DOWNGRADED_DURING_SHUTDOWN.has(event.kind)) {
        event.originalKind = event.kind
        event.kind = 'shutdown'
      }
      return event
    }

    if (event.error !== undefined && (event.kind === 'quic-timeout' || event.quic === true)) {
      const error = event.error.toLowerCase()
      if (error.includes(ACCEPT_FAILURE)) {
        connState(event.connIndex).acceptCause = event.kind === 'quic-timeout' ? 'timeout' : 'other'
      } else if (
        event.kind === 'quic-timeout' &&
        error.includes(ACCEPT_LISTENER_FAILURE) &&
        connState(event.connIndex).acceptCause === 'other'
      ) {
        event.kind = 'connection-lost'
      }
    }

    if (event.kind === 'quic-timeout') {
      const state = connState(event.connIndex)
      const echo = state.echoPending && startsWithIgnoreCase(event.message, 'connection terminated')
      event.incidentStart = isDialMessage(event.message) || (!state.open && !echo)
      // The echo closes what it echoes: the next timeout on this connection is a new incident.
      state.open = event.incidentStart || state.open
      state.echoPending = false
    } else if (event.kind === 'retrying' || event.kind === 'connection-registered') {
      const state = conns.get(event.connIndex ?? -1)
      if (state) {
        state.echoPending = event.kind === 'retrying' && state.open
        state.open = false
        state.acceptCause = undefined
      }
    }

    if (
      event.kind === 'shutdown' ||
      (event.fatal === true && startsWithIgnoreCase(event.message, 'initiating shutdown'))
    ) {
      shuttingDown = true
    }
    return event
  }

  return {
    classify(line: string): CloudflaredEvent {
      try {
        return classify(line)
      } catch {
        return otherEvent()
      }
    },
    get shuttingDown(): boolean {
      return shuttingDown
    },
    reset(): void {
      shuttingDown = false
      conns.clear()
    },
  }
}
