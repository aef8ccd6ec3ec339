/**
 * The configuration schema of `scanner-tunnel`, as data. Validation, `--help`, environment
 * overrides, command-line flags and the docs table are all generated from {@link configSchema}.
 */

/** Value types a config key can have. */
export type ConfigValueType =
  | 'string'
  | 'path'
  | 'url'
  | 'listen'
  | 'integer'
  | 'number'
  | 'boolean'
  | 'enum'
  | 'list'
  | 'command'
  | 'record'

/** One key of the configuration. */
export interface ConfigKey {
  /** Dotted path in the config file, for example `tunnel.protocol`. */
  readonly key: string
  readonly type: ConfigValueType
  /** Default value; `undefined` means "not set". */
  readonly default?: unknown
  /** How the default reads in help and docs when it is not a literal. */
  readonly defaultText?: string
  readonly description: string
  /** Allowed values of an `enum`. */
  readonly values?: readonly string[]
  /** Bounds of `integer` and `number` keys. */
  readonly min?: number
  readonly max?: number
  /** How a `list` given as one string (env var, flag) is split. */
  readonly split?: 'comma' | 'words'
  /** Environment variable: `SCANNER_TUNNEL_` + the path in upper snake case. */
  readonly env: string
  /** Command-line flag: `--` + the path in kebab case. */
  readonly flag: string
}

/** Prefix of every environment variable read by the CLI. */
export const ENV_PREFIX = 'SCANNER_TUNNEL_'

/** Environment variable naming the config file (like `--config`). */
export const CONFIG_ENV = `${ENV_PREFIX}CONFIG`

/** Default address of the status endpoint. */
export const DEFAULT_STATUS_PORT = 8787

/** The edge names cloudflared resolves at start-up. */
export const DEFAULT_DNS_NAMES: readonly string[] = [
  'region1.v2.argotunnel.com',
  'region2.v2.argotunnel.com',
]

function words(path: string): string[] {
  return path
    .split('.')
    .flatMap((part) => part.replace(/([a-z0-9])([A-Z])/g, '$1 $2').split(' '))
    .map((w) => w.toLowerCase())
}

/** `tunnel.gracePeriodMs` → `SCANNER_TUNNEL_TUNNEL_GRACE_PERIOD_MS`. */
export function envName(path: string): string {
  return ENV_PREFIX + words(path).join('_').toUpperCase()
}

/** `tunnel.gracePeriodMs` → `--tunnel-grace-period-ms`. */
export function flagName(path: string): string {
  return '--' + words(path).join('-')
}

type KeyInput = Omit<ConfigKey, 'env' | 'flag'>

function define(keys: readonly KeyInput[]): readonly ConfigKey[] {
  return Object.freeze(
    keys.map((k) => Object.freeze({ ...k, env: envName(k.key), flag: flagName(k.key) })),
  )
}

/** Every configuration key, in the order help and docs list them. */
export const configSchema: readonly ConfigKey[] = define([
  {
    key: 'tunnel.bin',
    type: 'string',
    defaultText: '$CLOUDFLARED_BIN, else cloudflared on PATH',
    description: 'The cloudflared binary.',
  },
  {
    key: 'tunnel.tokenFile',
    type: 'path',
    description:
      'File holding the tunnel token (named tunnel). TUNNEL_TOKEN and $CREDENTIALS_DIRECTORY/tunnel-token take precedence. Never pass the token itself as a flag.',
  },
  {
    key: 'tunnel.url',
    type: 'url',
    description: 'Origin URL of a quick tunnel (trycloudflare.com); no token needed.',
  },
  {
    key: 'tunnel.configFile',
    type: 'path',
    description:
      "cloudflared's own config file (a locally managed tunnel with a credentials file).",
  },
  {
    key: 'tunnel.protocol',
    type: 'enum',
    values: ['auto', 'quic', 'http2'],
    default: 'auto',
    description: 'Transport protocol between cloudflared and the edge.',
  },
  {
    key: 'tunnel.protocolFallback',
    type: 'boolean',
    default: true,
    description: 'Switch to http2 after repeated QUIC trouble.',
  },
  {
    key: 'tunnel.args',
    type: 'list',
    split: 'words',
    default: [],
    description: 'Extra cloudflared arguments (never the token).',
  },
  {
    key: 'tunnel.gracePeriodMs',
    type: 'integer',
    min: 0,
    max: 180_000,
    default: 30_000,
    description: 'Grace period given to cloudflared on stop (its --grace-period).',
  },
  {
    key: 'tunnel.readyTimeoutMs',
    type: 'integer',
    min: 1000,
    default: 90_000,
    description: 'Restart when no connection has been ready for this long.',
  },
  {
    key: 'tunnel.quicTimeouts.threshold',
    type: 'integer',
    min: 1,
    max: 1000,
    default: 3,
    description: 'QUIC timeout incidents within the window that trigger a restart.',
  },
  {
    key: 'tunnel.quicTimeouts.windowMs',
    type: 'integer',
    min: 1000,
    default: 300_000,
    description: 'Window over which QUIC timeout incidents are counted.',
  },
  {
    key: 'tunnel.backoff.initialDelayMs',
    type: 'integer',
    min: 0,
    default: 1000,
    description: 'First restart delay.',
  },
  {
    key: 'tunnel.backoff.maxDelayMs',
    type: 'integer',
    min: 0,
    default: 60_000,
    description: 'Largest restart delay.',
  },
  {
    key: 'tunnel.backoff.factor',
    type: 'number',
    min: 1,
    max: 100,
    default: 2,
    description: 'Multiplier applied to the delay after each restart.',
  },
  {
    key: 'tunnel.backoff.jitter',
    type: 'enum',
    values: ['full', 'equal', 'none'],
    default: 'equal',
    description: 'Random jitter applied to restart delays.',
  },
  {
    key: 'tunnel.backoff.resetAfterMs',
    type: 'integer',
    min: 0,
    default: 120_000,
    description: 'A run at least this long resets the backoff.',
  },
  {
    key: 'tunnel.publicUrl',
    type: 'url',
    description:
      'Public URL of the service, probed through the tunnel (restart when the origin is fine but this fails).',
  },
  {
    key: 'tunnel.localUrl',
    type: 'url',
    defaultText: 'origin.healthUrl',
    description: 'Local origin URL probed next to the public URL.',
  },
  {
    key: 'origin.command',
    type: 'command',
    description:
      'Origin service to supervise too: an argv array, or a string split like a shell would (quotes, no expansion, no shell).',
  },
  {
    key: 'origin.cwd',
    type: 'path',
    description: 'Working directory of the origin service.',
  },
  {
    key: 'origin.env',
    type: 'record',
    default: {},
    description: 'Extra environment of the origin service (KEY=VALUE pairs).',
  },
  {
    key: 'origin.healthUrl',
    type: 'url',
    description: 'Health URL of the origin service (checked by `check`, probed by `run`).',
  },
  {
    key: 'origin.gracePeriodMs',
    type: 'integer',
    min: 0,
    max: 600_000,
    default: 10_000,
    description: 'Time the origin service gets between SIGTERM and SIGKILL.',
  },
  {
    key: 'dns.enabled',
    type: 'boolean',
    default: true,
    description: 'Run the DNS monitor (system and fallback resolvers).',
  },
  {
    key: 'dns.names',
    type: 'list',
    split: 'comma',
    default: DEFAULT_DNS_NAMES,
    description: 'Names resolved by the DNS monitor.',
  },
  {
    key: 'dns.fallbacks',
    type: 'list',
    split: 'comma',
    default: ['1.1.1.1', '8.8.8.8'],
    description:
      'Fallback resolvers (host or host:port) that tell a broken system resolver from no network.',
  },
  {
    key: 'dns.systemServers',
    type: 'list',
    split: 'comma',
    default: [],
    defaultText: "the system's resolver",
    description:
      'Resolvers used as "the system resolver" (host or host:port); empty means the system\'s own.',
  },
  {
    key: 'dns.recovery',
    type: 'list',
    split: 'comma',
    values: ['flush-systemd-resolved', 'use-fallbacks'],
    default: [],
    description:
      "Recovery actions run once per DNS failure episode: flush the systemd-resolved cache (resolvectl flush-caches), use the fallback resolvers for the watchdog's own lookups until the system resolver works again. /etc/resolv.conf is never edited.",
  },
  {
    key: 'dns.intervalMs',
    type: 'integer',
    min: 1000,
    default: 60_000,
    description: 'Interval between DNS checks.',
  },
  {
    key: 'dns.timeoutMs',
    type: 'integer',
    min: 100,
    max: 60_000,
    default: 3000,
    description: 'Timeout of one DNS query.',
  },
  {
    key: 'log.dir',
    type: 'path',
    defaultText: 'none (standard output only)',
    description:
      'Log directory: tunnel_monitor.log, tunnel_errors.log, health_checks.log (JSON lines), cloudflared.log and the origin file (raw text); reopened on SIGHUP.',
  },
  {
    key: 'log.originFile',
    type: 'string',
    default: 'origin.log',
    description:
      "File name in log.dir of the origin service's output (its text as printed), for example django.log.",
  },
  {
    key: 'log.level',
    type: 'enum',
    values: ['trace', 'debug', 'info', 'warn', 'error', 'fatal'],
    default: 'info',
    description: 'Minimum log level.',
  },
  {
    key: 'status.listen',
    type: 'listen',
    default: `127.0.0.1:${DEFAULT_STATUS_PORT}`,
    description:
      'Loopback address of the status listener (GET /status JSON, the status page at /status/page, GET /metrics, POST /reload); "off" disables it.',
  },
])

/** The schema entry of `key`, if any. */
export function schemaKey(key: string): ConfigKey | undefined {
  return configSchema.find((k) => k.key === key)
}

/** Human description of what a key expects, used in error messages and docs. */
export function expectedText(entry: ConfigKey): string {
  switch (entry.type) {
    case 'string':
      return 'a non-empty string'
    case 'path':
      return 'a path'
    case 'url':
      return 'an http(s) URL'
    case 'listen':
      return 'a loopback address "host:port" (127.0.0.1, ::1 or localhost) or "off"'
    case 'integer':
    case 'number': {
      const what = entry.type === 'integer' ? 'an integer' : 'a number'
      if (entry.min !== undefined && entry.max !== undefined) {
        return `${what} between ${entry.min} and ${entry.max}`
      }
      if (entry.min !== undefined) return `${what} >= ${entry.min}`
      return what
    }
    case 'boolean':
      return 'true or false'
    case 'enum':
      return `one of ${(entry.values ?? []).map((v) => `"${v}"`).join(', ')}`
    case 'list':
      return entry.values === undefined
        ? 'a list of strings'
        : `a list of ${entry.values.map((v) => `"${v}"`).join(', ')}`
    case 'command':
      return 'a command (an array of strings or a string)'
    case 'record':
      return 'a map of environment variables (string values)'
  }
}

/** How the default reads in help and docs. */
export function defaultText(entry: ConfigKey): string {
  if (entry.defaultText !== undefined) return entry.defaultText
  const d = entry.default
  if (d === undefined) return 'none'
  if (Array.isArray(d)) return d.length === 0 ? '[]' : d.join(', ')
  if (typeof d === 'object' && d !== null) return '{}'
  return typeof d === 'string' ? d : JSON.stringify(d)
}
