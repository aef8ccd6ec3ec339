/**
 * The classification rules: from a parsed line to a `CloudflaredEvent`. Message strings come from
 * `cloudflared.md` (all versions); matching is on the lower-cased message and error, with cheap
 * substring tests, and regexes only on lines that already matched.
 */
import type { CloudflaredEvent, CloudflaredEventKind, CloudflaredLevel } from '../classify.js'
import { isSmallNumber, type Draft } from './classify-draft.js'
import {
  causeKeywords,
  hasDnsError,
  isAuthText,
  isOriginUnreachableText,
  isQuicTimeoutText,
} from './classify-causes.js'

const QUICK_URL = /https:\/\/([a-z0-9-]{1,63})\.trycloudflare\.com/
const METRICS_ADDRESS = /^starting metrics server on (\S{1,300})/i
const SIGNAL = /due to signal (\S{1,40})/
const REGISTERED_OLD = /^connection (?:(\S{1,100}) )?registered(?: with protocol:? (\S{1,20}))?/
const PROTOCOL_AFTER = /(?:fallback protocol|protocol to|initial protocol) (\S{1,20})/
const DURATION_TOKEN = /^(\d{1,12}(?:\.\d{1,9})?)(ns|us|µs|ms|s|m|h)/

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
}

/** Parses a Go duration (`1m4s`, `500ms`, `2s`) or a bare number of seconds; -1 when invalid. */
export function parseGoDurationMs(text: string): number {
  if (isSmallNumber(text)) return Number(text) * 1000
  let rest = text
  let total = 0
  let guard = 0
  while (rest.length > 0 && guard++ < 8) {
    const m = DURATION_TOKEN.exec(rest)
    if (!m) return -1
    total += Number(m[1]) * (UNIT_MS[m[2] ?? 's'] ?? 0)
    rest = rest.slice(m[0].length)
  }
  return rest.length === 0 ? Math.round(total) : -1
}

/** The space-separated word of `s` starting at `start`, or `undefined` past the end. */
function wordAt(s: string, start: number): string | undefined {
  if (start > s.length) return undefined
  const end = s.indexOf(' ', start)
  return s.slice(start, end < 0 ? s.length : end)
}

/** The delay word of `up to 2s …` / `2 seconds` (the first word, or the third after `up to`). */
function retryDelayWord(rest: string): string | undefined {
  const first = wordAt(rest, 0)
  if (first === 'up' && wordAt(rest, 3) === 'to') return wordAt(rest, 6)
  return first
}

/** `quic` as a word of its own (not the `quic` of `quick Tunnel`). */
function mentionsQuic(t: string): boolean {
  let i = t.indexOf('quic')
  while (i >= 0) {
    if (t.charCodeAt(i + 4) !== 107) return true // not followed by 'k'
    i = t.indexOf('quic', i + 4)
  }
  return false
}

/** Messages of QUIC connection serve/accept failures, all versions. */
function isQuicServeMessage(m: string): boolean {
  return (
    m.startsWith('failed to accept incoming stream requests') ||
    m.startsWith('failed to serve quic connection') ||
    m.startsWith('failed to serve tunnel connection') ||
    m.startsWith('failed to create new tunnel connection')
  )
}

/** Messages of QUIC dial failures, all versions. */
function isQuicDialMessage(m: string): boolean {
  return (
    m.startsWith('failed to dial a quic connection') ||
    m.startsWith('failed to create new quic connection')
  )
}

function isConnectionLostMessage(m: string, c0: number): boolean {
  switch (c0) {
    case 99: // c
      return m.startsWith('connection terminated')
    case 115: // s
      return m.startsWith('serve tunnel error')
    case 117: // u
      return m.startsWith('unable to establish connection')
    case 108: // l
      return m.startsWith('lost connection with the edge')
    case 110: // n
      return m.startsWith('no more connections active')
    case 114: // r
      return m.startsWith('register tunnel error from server side')
    case 102: // f
      return (
        m.startsWith('failed to serve incoming request') ||
        isQuicDialMessage(m) ||
        isQuicServeMessage(m)
      )
    default:
      return false
  }
}

/** Lines of the "Please try the following things to diagnose this issue" block after a DNS error. */
function isDnsHint(m: string): boolean {
  return (
    m.startsWith('please try the following things to diagnose') ||
    m.includes('origintunneld') ||
    m.includes('dig srv') ||
    m.includes('compressed srv records') ||
    m.includes('golang/go/issues/27546') ||
    m.includes('1.1.1.1')
  )
}

/** Bare error text as urfave/cli prints it before exiting. */
function looksLikeBareError(m: string): boolean {
  return (
    m.startsWith('failed') ||
    m.startsWith('error') ||
    m.startsWith('could not') ||
    m.startsWith("couldn't") ||
    m.startsWith('unable to') ||
    m.startsWith('cannot') ||
    m.startsWith('invalid') ||
    m.startsWith('there are no free edge addresses')
  )
}

/** Errors that mean "cancelled", not "broken". */
function isBenignError(e: string): boolean {
  return e === 'context canceled' || e.endsWith(': context canceled')
}

/** Non-timeout QUIC causes: the connection ended for another reason than a QUIC timeout. */
function isOtherQuicCause(e: string): boolean {
  return (
    e.includes('application error') ||
    e.includes('internal_error') ||
    e.includes('operation not permitted') ||
    e.includes('no_error') ||
    e.includes('context canceled') ||
    e.includes('stateless reset') ||
    e.includes('connection refused')
  )
}

/** Messages after which cloudflared exits (the error field tells why). */
function isFatalMessage(m: string, c0: number): boolean {
  switch (c0) {
    case 105: // i
      return m.startsWith('initiating shutdown') || m.startsWith('initial tunnel connection failed')
    case 101: // e
      return (
        m.startsWith('error opening metrics server listener') ||
        m.startsWith('error unmarshaling quicktunnel response')
      )
    case 99: // c
      return m.startsWith("couldn't start tunnel")
    case 102: // f
      return (
        m.includes('quick tunnel') &&
        (m.startsWith('failed to request') ||
          m.startsWith('failed to unmarshal') ||
          m.startsWith('failed to parse'))
      )
    default:
      return false
  }
}

const SHUTDOWN = 1
const DONE = 2
const NONE = 0

/**
 * Rules keyed by a known message prefix; they take precedence over causes found in the error.
 * Returns DONE when the kind is decided, NONE otherwise.
 */
function classifyByMessage(d: Draft, m: string, e: string, c0: number): number {
  switch (c0) {
    case 105: // i
      if (m.startsWith('initiating graceful shutdown')) {
        d.kind = 'shutdown'
        const sm = SIGNAL.exec(m)
        if (sm) d.signal = sm[1]
        return SHUTDOWN
      }
      if (m.startsWith('initiating shutdown') && e.includes('has been updated')) return SHUTDOWN
      if (m.startsWith('incorrect usage')) return usage(d, 'fatal')
      if (m.startsWith('if this log occurs persistently')) {
        // The QUIC-blocked warning (its second physical line is a `continuation`).
        d.kind = 'protocol-fallback'
        d.quic = true
        return DONE
      }
      return NONE
    case 103: // g
      return m.startsWith('graceful shutdown signalled') ? SHUTDOWN : NONE
    case 117: // u
      if (m.startsWith('unregistered tunnel connection')) return SHUTDOWN
      // Update checks run (and fail offline) even with --no-autoupdate: noise, not a failure.
      if (m.startsWith('update check failed') || m.startsWith('update failed to apply')) return DONE
      return NONE
    case 116: // t
      return m.startsWith('tunnel server stopped') ? SHUTDOWN : NONE
    case 109: // m
      return m.startsWith('metrics server stopped') ? SHUTDOWN : NONE
    case 99: // c
      if (m.startsWith('cloudflared has been updated')) return SHUTDOWN
      if (m.startsWith('connection ') && m.includes('registered')) {
        const rm = REGISTERED_OLD.exec(m)
        if (rm) {
          d.kind = 'connection-registered'
          if (rm[1] !== undefined) d.connectionId ??= rm[1]
          if (rm[2] !== undefined) d.protocol ??= rm[2]
          return DONE
        }
      }
      return NONE
    case 112: // p
      return m.startsWith('provided tunnel token is not valid') ? usage(d, 'auth-failure') : NONE
    case 102: // f
      return m.startsWith('failed to read token file') ? usage(d, 'auth-failure') : NONE
    case 124: // |
    case 104: {
      // h: quick-tunnel URL in the ASCII box, or on its own
      if (d.error !== undefined) return NONE
      const um = QUICK_URL.exec(m)
      if (!um || um[1] === 'api') return NONE
      d.kind = 'quick-tunnel-url'
      d.url = um[0]
      return DONE
    }
    case 114: // r
      if (m.startsWith('registered tunnel connection')) {
        d.kind = 'connection-registered'
        return DONE
      }
      if (m.startsWith('retrying connection in')) {
        d.kind = 'retrying'
        // `in up to 2s`, `in up to 2s seconds` (< 2022.10.1), `in 2 seconds`.
        const value = retryDelayWord(m.slice(22).trim())
        const ms = value === undefined ? -1 : parseGoDurationMs(value)
        if (ms >= 0) d.delayMs = ms
        return DONE
      }
      if (m.startsWith('restarting connection due to reconnect signal')) {
        d.kind = 'retrying'
        const ms = parseGoDurationMs(m.slice(m.lastIndexOf(' ') + 1))
        if (ms >= 0) d.delayMs = ms
        return DONE
      }
      return NONE
    case 115: // s
      if (m.startsWith('starting metrics server on')) {
        const am = METRICS_ADDRESS.exec(d.message)
        if (am?.[1] !== undefined) {
          d.kind = 'metrics-started'
          const address = am[1]
          d.address = address.toLowerCase().endsWith('/metrics') ? address.slice(0, -8) : address
          return DONE
        }
        return NONE
      }
      if (m.startsWith('switching to fallback protocol')) {
        d.kind = 'protocol-fallback'
        return DONE
      }
      return NONE
    default:
      return NONE
  }
}

function usage(d: Draft, kind: CloudflaredEventKind): number {
  d.kind = kind
  d.fatal = true
  d.usage = true
  return DONE
}

/** Sets `kind` (and facets) from the content. `fatal` is decided by the caller. */
function classifyContent(d: Draft, m: string, e: string, hay: string, causes: number): void {
  const c0 = m.charCodeAt(0)
  const byMessage = classifyByMessage(d, m, e, c0)
  if (byMessage === SHUTDOWN) {
    d.kind = 'shutdown'
    d.fatal = undefined
    return
  }
  if (byMessage === DONE) return
  if (c0 === 99 && m.startsWith('changing protocol to')) {
    d.kind = 'protocol-fallback'
    return
  }

  // urfave/cli usage errors printed as plain text.
  if (
    d.format === 'plain' &&
    (m.includes('requires the id or name of the tunnel') ||
      m.includes('you did not specify any valid additional argument'))
  ) {
    usage(d, 'fatal')
    return
  }

  // Request/origin errors: the origin's problem, checked before DNS and QUIC words in the error.
  if (
    (m === '' && d.fields.originService !== undefined) ||
    (c0 === 114 && m.startsWith('request failed')) ||
    isOriginUnreachableText(hay, causes)
  ) {
    d.kind = 'origin-error'
    return
  }

  if (causes !== 0) {
    if (isAuthText(hay, causes)) {
      d.kind = 'auth-failure'
      return
    }
    if (isQuicTimeoutText(hay, causes)) {
      d.kind = 'quic-timeout'
      d.quic = true
      return
    }
  }
  if (
    e.includes('accept stream listener encountered a failure') ||
    (c0 === 102 &&
      m.startsWith('failed to accept incoming stream requests') &&
      !isOtherQuicCause(e))
  ) {
    // The consequence lines of a stream-accept failure: part of the same QUIC incident.
    d.kind = 'quic-timeout'
    d.quic = true
    return
  }

  if (d.dns === true) {
    d.kind = 'dns-failure'
    return
  }

  if (isConnectionLostMessage(m, c0)) {
    d.kind = 'connection-lost'
    return
  }
  if (e.includes('tls handshake with edge') || e.includes('dialcontext error')) {
    d.kind = 'connection-lost'
    return
  }

  if (d.level === 'error' && e === '' && isDnsHint(m)) d.dns = true
}

/** Kinds that name the cause of a fatal line (kept as the kind, with `fatal: true`). */
function isCauseKind(kind: CloudflaredEventKind): boolean {
  return kind === 'dns-failure' || kind === 'auth-failure' || kind === 'quic-timeout'
}

/** Kinds that report something going wrong. */
function isFailureKind(kind: CloudflaredEventKind): boolean {
  switch (kind) {
    case 'quic-timeout':
    case 'dns-failure':
    case 'connection-lost':
    case 'auth-failure':
    case 'origin-error':
    case 'fatal':
      return true
    default:
      return false
  }
}

function joinText(m: string, e: string): string {
  return e === '' ? m : `${m}\n${e}`
}

const RATE_LIMITED = /\b(?:429|1015)\b|too many requests/

/**
 * Classifies a parsed line: `d` as the parser made it, `level` the level the line carries
 * (`undefined` when it has none, where `d.level` says `info`).
 */
export function classifyParsed(d: Draft, level: CloudflaredLevel | undefined): CloudflaredEvent {
  const m = d.message.toLowerCase()
  const e = d.error === undefined ? '' : d.error.toLowerCase()
  const plain = d.format === 'plain'
  // Where to look for causes (DNS, auth, QUIC timeout): the whole text of plain lines and of
  // warnings and errors; only the error field of info and debug lines (most lines, and cheap).
  const loud =
    level === undefined ||
    level === 'warn' ||
    level === 'error' ||
    level === 'fatal' ||
    level === 'panic'
  // Keywords never span the line break of the joined text: scan its parts, join only if needed.
  const causes = (loud && m !== '' ? causeKeywords(m) : 0) | (e === '' ? 0 : causeKeywords(e))
  const hay = causes === 0 ? '' : loud ? joinText(m, e) : e

  if (causes !== 0 && hasDnsError(hay, causes)) d.dns = true

  let benignPlain = false
  if (level === undefined && m.includes('failed to sufficiently increase')) {
    // quic-go's UDP buffer warning (Go `log` line): a warning, not a failure.
    d.level = 'warn'
    d.quic = true
    benignPlain = true
  } else if (plain && m.startsWith('if you are using private routing to this tunnel')) {
    // Second physical line of the multi-line QUIC-blocked warning.
    d.level = 'warn'
    d.quic = true
    d.continuation = true
    benignPlain = true
  } else if (plain && m.startsWith('see ') && m.endsWith("--help'.")) {
    // Second line of a usage error (`See 'cloudflared tunnel run --help'.`).
    d.continuation = true
    d.usage = true
    benignPlain = true
  } else {
    if (isFatalMessage(m, m.charCodeAt(0))) d.fatal = true
    classifyContent(d, m, e, hay, causes)
  }

  if (
    d.protocol === undefined &&
    (d.kind === 'protocol-fallback' || (d.kind === 'other' && m.startsWith('initial protocol')))
  ) {
    const pm = PROTOCOL_AFTER.exec(m)
    if (pm) d.protocol = pm[1]
  }

  // Plain lines that report an error are urfave/cli's last words before the exit.
  if (plain && !benignPlain && d.kind !== 'shutdown') {
    if (isFailureKind(d.kind) || (d.kind === 'other' && looksLikeBareError(m))) {
      d.fatal = true
    }
  }
  if (d.level === 'fatal' || d.level === 'panic') d.fatal = true

  if (d.fatal === true) {
    if (!isCauseKind(d.kind)) d.kind = 'fatal'
    if (plain) d.level = 'error'
    if (RATE_LIMITED.test(joinText(m, e)) || d.fields.status_code === '429') d.rateLimited = true
  }

  if (isFailureKind(d.kind)) {
    if (d.quic === undefined && mentionsQuic(joinText(m, e))) d.quic = true
    d.failure =
      d.fatal === true || (d.level !== 'debug' && d.level !== 'trace' && !isBenignError(e))
  } else {
    d.failure = d.fatal === true || (d.kind === 'protocol-fallback' && d.quic === true)
  }

  return d
}
