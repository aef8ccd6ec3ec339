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
   * `DRAIN_DELAY_MS`: time between readiness turning 503 and the tunnel stopping; default
   * {@link PRODUCTION_DRAIN_DELAY_MS} with `NODE_ENV=production` (outside demo mode), else 0.
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
 * The drain delay in production: readiness answers 503 this long before the listener closes.
 * 10 s covers a balancer that must see two or three failed checks a few seconds apart: HAProxy's
 * defaults (`inter 2s`, `fall 3`: 6 s), Kubernetes with `periodSeconds: 5`, `failureThreshold: 2`
 * (10 s), lightship's 5 s `shutdownDelay` twice over; and it stays well inside the 30 s
 * `terminationGracePeriodSeconds` and the 45 s `SHUTDOWN_TIMEOUT_MS`.
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
    drainDelayMs: integer(
      env,
      'DRAIN_DELAY_MS',
      env.NODE_ENV?.trim() === 'production' && !demo ? PRODUCTION_DRAIN_DELAY_MS : 0,
      600_000,
    ),
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 45_000, 600_000),
    demo,
    demoFaultIntervalMs: integer(env, 'DEMO_FAULT_INTERVAL_MS', 8000, 600_000),
  }
}
