import { invalidOption } from '@scanner/core'
import { FEED_MODES, type FeedMode } from './feed.js'

/** Everything the example servers read from the environment, validated. */
export interface DeploymentConfig {
  /** `HOST`, default `127.0.0.1`. */
  readonly host: string
  /** `PORT`, default `8000`; `0` picks a free port. */
  readonly port: number
  /** `ADMIN_HOST`: address of the operator port (details, metrics, fault injection), default `127.0.0.1`. */
  readonly adminHost: string
  /** `ADMIN_PORT`: the operator port, default `9464`; `0` picks a free port. */
  readonly adminPort: number
  /** `DATABASE_PATH`: SQLite file; in memory when unset. */
  readonly databasePath: string | undefined
  /** `FEED_MODE`: initial behaviour of the upstream quote feed, default `ok`. */
  readonly feedMode: FeedMode
  /** `TUNNEL`: `auto` (default), `simulator` (never a real cloudflared) or `off`. */
  readonly tunnel: 'auto' | 'simulator' | 'off'
  /** `TUNNEL_TOKEN`: selects a named tunnel when cloudflared is installed. Never logged. */
  readonly tunnelToken: string | undefined
  /** `CLOUDFLARED_BIN`: path of cloudflared; otherwise searched on `PATH`. */
  readonly cloudflaredBin: string | undefined
  /** `DNS_CHECK`: `on` (default) or `off`. */
  readonly dnsCheck: boolean
  /** `DNS_FALLBACKS`: comma-separated resolver addresses (`ip` or `ip:port`); package default when unset. */
  readonly dnsFallbacks: readonly string[] | undefined
  /** `DNS_NAMES`: comma-separated names to resolve; package default (cloudflared's edge) when unset. */
  readonly dnsNames: readonly string[] | undefined
  /**
   * `DNS_SYSTEM_SERVERS`: comma-separated servers that stand in for the system resolver (tests
   * point it at a loopback server); the machine's own resolver when unset.
   */
  readonly dnsSystemServers: readonly string[] | undefined
  /** `LOG_LEVEL`, default `info`. */
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  /** `LOG_FORMAT`: `json` (default) or `pretty` (default in demo mode). */
  readonly logFormat: 'json' | 'pretty'
  /** `HEALTH_TOKEN`: when set, `/health/detailed/` details need `Authorization: Bearer <token>`. */
  readonly healthToken: string | undefined
  /**
   * `DRAIN_DELAY_MS`: how long the server keeps serving, readiness at 503 and every response with
   * `Connection: close`, before the tunnel stops and the server closes. Default
   * {@link PRODUCTION_DRAIN_DELAY_MS} (10 s); 0 in demo mode and with `NODE_ENV=development`.
   * Must be less than `SHUTDOWN_TIMEOUT_MS`.
   */
  readonly drainDelayMs: number
  /** `SHUTDOWN_TIMEOUT_MS`: hard deadline of the whole shutdown, default 45000. */
  readonly shutdownTimeoutMs: number
  /** `--demo` flag or `DEMO=1`: pretty logs, fault injection in the simulator, URLs to try. */
  readonly demo: boolean
  /** `DEMO_FAULT_INTERVAL_MS`: time between two injected faults in demo mode, default 8000. */
  readonly demoFaultIntervalMs: number
}

/**
 * Default `DRAIN_DELAY_MS` in production: a balancer must see readiness fail before the
 * listener closes. HAProxy's default check (`inter 2s fall 3`) marks a server down 4 to 6 s
 * after readiness turns 503; lightship waits 5 s; Kubernetes needs a few seconds to take a
 * terminating pod out of its endpoints. 10 s covers HAProxy's defaults with margin.
 */
export const PRODUCTION_DRAIN_DELAY_MS = 10_000

/** The operator port's default: Prometheus exporters' registered port, never the public one. */
export const DEFAULT_ADMIN_PORT = 9464

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

function flag(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase()
  if (raw === undefined || raw === '') return fallback
  if (['1', 'on', 'true', 'yes'].includes(raw)) return true
  if (['0', 'off', 'false', 'no'].includes(raw)) return false
  throw invalidOption(name, 'on or off', env[name])
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, max: number): number {
  const raw = env[name]?.trim()
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value > max) {
    throw invalidOption(name, `an integer between 0 and ${max}`, raw)
  }
  return value
}

function oneOf<T extends string>(
  env: NodeJS.ProcessEnv,
  name: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const raw = env[name]?.trim()
  if (raw === undefined || raw === '') return fallback
  if ((allowed as readonly string[]).includes(raw)) return raw as T
  throw invalidOption(name, `one of ${allowed.join(', ')}`, raw)
}

function list(env: NodeJS.ProcessEnv, name: string): readonly string[] | undefined {
  const raw = env[name]
  if (raw === undefined) return undefined
  return raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
}

function text(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const raw = env[name]?.trim()
  return raw === undefined || raw === '' ? undefined : raw
}

/**
 * Reads and validates the example servers' settings from the environment (and `--demo` from
 * the arguments). A bad value throws the `TypeError` of `invalidOption`, naming the variable.
 *
 * @example
 * ```ts
 * const config = readConfig() // HOST, PORT, ADMIN_HOST, ADMIN_PORT, DATABASE_PATH, TUNNEL, DNS_FALLBACKS, ...
 * ```
 */
export function readConfig(
  env: NodeJS.ProcessEnv = process.env,
  argv: readonly string[] = process.argv.slice(2),
): DeploymentConfig {
  const demo = argv.includes('--demo') || flag(env, 'DEMO', false)
  const tunnel = oneOf(env, 'TUNNEL', ['auto', 'simulator', 'off'] as const, 'auto')
  const token = env.TUNNEL_TOKEN?.trim()
  const drainDelayMs = integer(
    env,
    'DRAIN_DELAY_MS',
    demo || env.NODE_ENV === 'development' ? 0 : PRODUCTION_DRAIN_DELAY_MS,
    600_000,
  )
  const shutdownTimeoutMs = integer(env, 'SHUTDOWN_TIMEOUT_MS', 45_000, 600_000)
  if (drainDelayMs >= shutdownTimeoutMs) {
    // The deadline would end every shutdown in the middle of the drain, with exit code 1.
    const origin = env.DRAIN_DELAY_MS?.trim() ? '' : ' (the production default)'
    throw invalidOption(
      'DRAIN_DELAY_MS',
      `less than SHUTDOWN_TIMEOUT_MS (${String(shutdownTimeoutMs)})`,
      `${String(drainDelayMs)}${origin}`,
    )
  }
  return {
    host: text(env, 'HOST') ?? '127.0.0.1',
    port: integer(env, 'PORT', 8000, 65_535),
    adminHost: text(env, 'ADMIN_HOST') ?? '127.0.0.1',
    adminPort: integer(env, 'ADMIN_PORT', DEFAULT_ADMIN_PORT, 65_535),
    databasePath: text(env, 'DATABASE_PATH'),
    feedMode: oneOf(env, 'FEED_MODE', FEED_MODES, 'ok'),
    tunnel,
    tunnelToken: token === undefined || token === '' ? undefined : token,
    cloudflaredBin: text(env, 'CLOUDFLARED_BIN'),
    dnsCheck: flag(env, 'DNS_CHECK', true),
    dnsFallbacks: list(env, 'DNS_FALLBACKS'),
    dnsNames: list(env, 'DNS_NAMES'),
    dnsSystemServers: list(env, 'DNS_SYSTEM_SERVERS'),
    logLevel: oneOf(env, 'LOG_LEVEL', LOG_LEVELS, 'info'),
    logFormat: oneOf(env, 'LOG_FORMAT', ['json', 'pretty'] as const, demo ? 'pretty' : 'json'),
    healthToken: text(env, 'HEALTH_TOKEN'),
    drainDelayMs,
    shutdownTimeoutMs,
    demo,
    demoFaultIntervalMs: integer(env, 'DEMO_FAULT_INTERVAL_MS', 8000, 600_000),
  }
}
