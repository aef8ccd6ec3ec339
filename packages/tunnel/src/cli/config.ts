import { dirname, join, resolve } from 'node:path'
import { isIP } from 'node:net'
import { LineCounter, isScalar, parseDocument, visit } from 'yaml'
import { CliError, describeValue, suggest } from './errors.js'
import { MAX_CONFIG_BYTES, MAX_TOKEN_BYTES, readSmallFile } from './read-file.js'
import { CONFIG_ENV, ENV_PREFIX, configSchema, expectedText } from './schema.js'
import type { ConfigKey } from './schema.js'

/** The validated configuration of `scanner-tunnel`, defaults filled in. */
export interface CliConfig {
  readonly tunnel: {
    readonly bin: string | undefined
    readonly tokenFile: string | undefined
    readonly url: string | undefined
    readonly configFile: string | undefined
    readonly protocol: 'auto' | 'quic' | 'http2'
    readonly protocolFallback: boolean
    readonly args: readonly string[]
    readonly gracePeriodMs: number
    readonly readyTimeoutMs: number
    readonly quicTimeouts: { readonly threshold: number; readonly windowMs: number }
    readonly backoff: {
      readonly initialDelayMs: number
      readonly maxDelayMs: number
      readonly factor: number
      readonly jitter: 'full' | 'equal' | 'none'
      readonly resetAfterMs: number
    }
    readonly publicUrl: string | undefined
    readonly localUrl: string | undefined
  }
  readonly origin: {
    readonly command: readonly string[] | undefined
    readonly cwd: string | undefined
    readonly env: Readonly<Record<string, string>>
    readonly healthUrl: string | undefined
    readonly gracePeriodMs: number
  }
  readonly dns: {
    readonly enabled: boolean
    readonly names: readonly string[]
    readonly fallbacks: readonly string[]
    readonly systemServers: readonly string[]
    readonly recovery: readonly ('flush-systemd-resolved' | 'use-fallbacks')[]
    readonly intervalMs: number
    readonly timeoutMs: number
  }
  readonly log: {
    readonly dir: string | undefined
    /** File name of the origin service's output in `log.dir`. */
    readonly originFile: string
    readonly level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'
  }
  readonly status: { readonly listen: string }
}

/** Where the configuration comes from. */
export interface ConfigSources {
  /** Config file (JSON or YAML); falls back to `$SCANNER_TUNNEL_CONFIG`. */
  readonly file?: string | undefined
  /** Environment variables. */
  readonly env: Readonly<Record<string, string | undefined>>
  /** Flags parsed by `parseArgs`, keyed by flag name without the dashes. */
  readonly flags?: Readonly<Record<string, unknown>>
  /** Base of relative paths given by flags and env vars. */
  readonly cwd: string
}

/** A loaded configuration and the file it came from. */
export interface LoadedConfig {
  readonly config: CliConfig
  readonly file: string | undefined
}

type Origin =
  | { readonly kind: 'file'; readonly file: string }
  | { readonly kind: 'env'; readonly name: string }
  | { readonly kind: 'flag'; readonly name: string }
  | { readonly kind: 'default' }

function where(origin: Origin): string {
  switch (origin.kind) {
    case 'file':
      return ` (in ${origin.file})`
    case 'env':
      return ` (from ${origin.name})`
    case 'flag':
      return ` (from ${origin.name})`
    case 'default':
      return ''
  }
}

function invalid(entry: ConfigKey, value: unknown, origin: Origin, detail?: string): CliError {
  const expected = detail ?? expectedText(entry)
  return new CliError(
    'ERR_TUNNEL_CLI_CONFIG',
    `Invalid config "${entry.key}": expected ${expected}, got ${describeValue(value)}${where(origin)}`,
  )
}

/**
 * Splits a command line into words like a POSIX shell would (single and double quotes,
 * backslash escapes), without any expansion and without running a shell.
 *
 * @example
 * ```ts
 * splitCommand(`node server.js --name "my app"`) // ['node', 'server.js', '--name', 'my app']
 * ```
 */
export function splitCommand(line: string): string[] {
  const out: string[] = []
  let current = ''
  let inWord = false
  let quote: '"' | "'" | undefined
  for (let i = 0; i < line.length; i++) {
    const ch = line.charAt(i)
    if (quote === "'") {
      if (ch === "'") quote = undefined
      else current += ch
    } else if (quote === '"') {
      if (ch === '"') quote = undefined
      else if (ch === '\\' && i + 1 < line.length && '"\\$`'.includes(line.charAt(i + 1))) {
        current += line.charAt(++i)
      } else current += ch
    } else if (ch === "'" || ch === '"') {
      quote = ch
      inWord = true
    } else if (ch === '\\') {
      if (i + 1 >= line.length) throw new SyntaxError('trailing backslash')
      current += line.charAt(++i)
      inWord = true
    } else if (/\s/.test(ch)) {
      if (inWord) out.push(current)
      current = ''
      inWord = false
    } else {
      current += ch
      inWord = true
    }
  }
  if (quote !== undefined) throw new SyntaxError(`unterminated ${quote} quote`)
  if (inWord) out.push(current)
  return out
}

function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true
  if (isIP(host) === 4) return host.startsWith('127.')
  if (isIP(host) === 6) return host === '::1'
  return false
}

/** Parses `host:port`, `[::1]:port` or a bare port into its parts (host defaults to 127.0.0.1). */
export function parseListen(value: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]:|([^:[\]]+):)?(\d{1,5})$/.exec(value.trim())
  if (!m) return undefined
  const host = m[1] ?? m[2] ?? '127.0.0.1'
  const port = Number(m[3])
  if (port > 65_535) return undefined
  return { host, port }
}

function checkUrl(value: string): boolean {
  try {
    const url = new URL(value)
    return url.protocol === 'http:' || url.protocol === 'https:'
  } catch {
    return false
  }
}

/** Turns a string from an env var or flag into the key's type (before validation). */
function fromString(entry: ConfigKey, raw: string, origin: Origin): unknown {
  switch (entry.type) {
    case 'integer':
    case 'number': {
      const text = raw.trim()
      return /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : raw
    }
    case 'boolean': {
      const text = raw.trim().toLowerCase()
      if (['true', '1', 'yes', 'on'].includes(text)) return true
      if (['false', '0', 'no', 'off'].includes(text)) return false
      return raw
    }
    case 'list': {
      const text = raw.trim()
      if (text.startsWith('[')) return parseJson(entry, raw, origin)
      if (text === '') return []
      if (entry.split === 'words') return splitWords(entry, raw, origin)
      return text
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '')
    }
    case 'command':
      return raw.trim().startsWith('[') ? parseJson(entry, raw, origin) : raw
    case 'record': {
      const text = raw.trim()
      if (text.startsWith('{')) return parseJson(entry, raw, origin)
      return pairsToRecord(entry, text === '' ? [] : text.split(','), origin)
    }
    default:
      return raw
  }
}

function parseJson(entry: ConfigKey, raw: string, origin: Origin): unknown {
  try {
    return JSON.parse(raw) as unknown
  } catch {
    throw invalid(entry, raw, origin, `${expectedText(entry)} (valid JSON)`)
  }
}

function splitWords(entry: ConfigKey, raw: string, origin: Origin): string[] {
  try {
    return splitCommand(raw)
  } catch (error) {
    throw invalid(entry, raw, origin, `${expectedText(entry)} (${(error as Error).message})`)
  }
}

function pairsToRecord(
  entry: ConfigKey,
  pairs: readonly string[],
  origin: Origin,
): Record<string, string> {
  const out: Record<string, string> = {}
  for (const pair of pairs) {
    const eq = pair.indexOf('=')
    if (eq <= 0) throw invalid(entry, pair, origin, 'KEY=VALUE pairs')
    out[pair.slice(0, eq).trim()] = pair.slice(eq + 1)
  }
  return out
}

const ENV_KEY_RE = /^[A-Za-z_][A-Za-z0-9_]*$/

/** Validates one value against its schema entry and returns it normalised. */
function validate(entry: ConfigKey, value: unknown, origin: Origin, base: string): unknown {
  switch (entry.type) {
    case 'string':
      if (typeof value !== 'string' || value.trim() === '') throw invalid(entry, value, origin)
      return value
    case 'path':
      if (typeof value !== 'string' || value.trim() === '') throw invalid(entry, value, origin)
      return resolve(base, value)
    case 'url':
      if (typeof value !== 'string' || !checkUrl(value)) throw invalid(entry, value, origin)
      return value
    case 'listen': {
      if (value === 'off') return value
      if (typeof value === 'number') value = String(value)
      const parsed = typeof value === 'string' ? parseListen(value) : undefined
      if (!parsed || !isLoopbackHost(parsed.host)) throw invalid(entry, value, origin)
      return value
    }
    case 'integer':
    case 'number': {
      const ok =
        typeof value === 'number' &&
        Number.isFinite(value) &&
        (entry.type === 'number' || Number.isInteger(value)) &&
        value >= (entry.min ?? -Infinity) &&
        value <= (entry.max ?? Infinity)
      if (!ok) throw invalid(entry, value, origin)
      return value
    }
    case 'boolean':
      if (typeof value !== 'boolean') throw invalid(entry, value, origin)
      return value
    case 'enum':
      if (typeof value !== 'string' || !(entry.values ?? []).includes(value)) {
        throw invalid(entry, value, origin)
      }
      return value
    case 'list': {
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
        throw invalid(entry, value, origin)
      }
      const allowed = entry.values
      const wrong = allowed === undefined ? undefined : value.find((v) => !allowed.includes(v))
      if (wrong !== undefined) throw invalid(entry, wrong, origin)
      return [...value]
    }
    case 'command': {
      let argv: unknown = value
      if (typeof value === 'string') {
        try {
          argv = splitCommand(value)
        } catch (error) {
          throw invalid(
            entry,
            value,
            origin,
            `${expectedText(entry)} (${(error as Error).message})`,
          )
        }
      }
      if (
        !Array.isArray(argv) ||
        argv.length === 0 ||
        !argv.every((v) => typeof v === 'string') ||
        argv[0] === ''
      ) {
        throw invalid(entry, value, origin)
      }
      return argv
    }
    case 'record': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw invalid(entry, value, origin)
      }
      const out: Record<string, string> = {}
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (!ENV_KEY_RE.test(k)) {
          throw invalid(entry, k, origin, 'environment variable names ([A-Za-z_][A-Za-z0-9_]*)')
        }
        if (typeof v === 'string') out[k] = v
        else if (typeof v === 'number' || typeof v === 'boolean') out[k] = String(v)
        else throw invalid(entry, v, origin, `a string value for "${k}"`)
      }
      return out
    }
  }
}

/** Every section and key path of the schema, for unknown-key detection. */
const sectionKeys: ReadonlyMap<string, readonly string[]> = (() => {
  const map = new Map<string, Set<string>>()
  for (const entry of configSchema) {
    const parts = entry.key.split('.')
    for (let i = 0; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('.')
      let set = map.get(parent)
      if (!set) map.set(parent, (set = new Set()))
      set.add(parts[i] ?? '')
    }
  }
  return new Map([...map].map(([k, v]) => [k, [...v]]))
})()

const FORBIDDEN_TOKEN_KEYS = new Set(['token', 'tunnel.token', 'tunnelToken', 'tunnel.tunnelToken'])

function tokenNotAllowed(path: string, file: string): CliError {
  return new CliError(
    'ERR_TUNNEL_CLI_CONFIG',
    `Config key "${path}" in ${file} is not accepted: the token must not sit in the config file. ` +
      'Put it in a file readable only by the service ("tunnel.tokenFile") or in TUNNEL_TOKEN.',
  )
}

/** Walks a parsed config file and returns the values by dotted key path. */
function flattenFile(data: unknown, file: string): Map<string, unknown> {
  const values = new Map<string, unknown>()
  if (data === null || data === undefined) return values
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new CliError(
      'ERR_TUNNEL_CLI_CONFIG',
      `Invalid config file ${file}: expected an object with sections ${(sectionKeys.get('') ?? []).join(', ')}, got ${describeValue(data)}`,
    )
  }
  const walk = (node: Record<string, unknown>, prefix: string): void => {
    const allowed = sectionKeys.get(prefix) ?? []
    for (const [name, value] of Object.entries(node)) {
      const path = prefix === '' ? name : `${prefix}.${name}`
      if (FORBIDDEN_TOKEN_KEYS.has(path)) throw tokenNotAllowed(path, file)
      if (!allowed.includes(name)) {
        const guess = suggest(name, allowed)
        const hint =
          guess === undefined
            ? ''
            : ` (did you mean "${prefix === '' ? guess : `${prefix}.${guess}`}"?)`
        throw new CliError(
          'ERR_TUNNEL_CLI_CONFIG',
          `Unknown config key "${path}" in ${file}${hint}`,
        )
      }
      if (sectionKeys.has(path)) {
        if (typeof value !== 'object' || value === null || Array.isArray(value)) {
          throw new CliError(
            'ERR_TUNNEL_CLI_CONFIG',
            `Invalid config "${path}": expected a section with keys ${(sectionKeys.get(path) ?? []).join(', ')}, got ${describeValue(value)} (in ${file})`,
          )
        }
        walk(value as Record<string, unknown>, path)
      } else {
        values.set(path, value)
      }
    }
  }
  walk(data as Record<string, unknown>, '')
  return values
}

/**
 * The message of a YAML or JSON parse error, complete on one line: pretty YAML errors end in
 * "at line 3, column 1:" followed by a code frame on the next lines, so the offending line's
 * text is quoted instead of the frame.
 */
export function parseErrorText(error: unknown, text: string): string {
  const message = error instanceof Error ? error.message : String(error)
  const first = (message.split('\n')[0] ?? '').trim().replace(/:$/, '')
  const line = (error as { linePos?: readonly { line: number }[] }).linePos?.[0]?.line
  const source = line === undefined ? undefined : text.split('\n')[line - 1]
  if (source === undefined || source.trim() === '') return first
  const shown = source.length > 120 ? `${source.slice(0, 120)}…` : source
  return `${first}: ${JSON.stringify(shown)}`
}

/**
 * Parses YAML with unique keys checked in linear time: the `yaml` library's own `uniqueKeys`
 * compares every key of a mapping with every other, so a 700 KB file of 60 000 keys (under the
 * 1 MB limit) kept the CLI busy for minutes.
 */
function parseYamlConfig(text: string): unknown {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: false, lineCounter })
  const [first] = doc.errors
  if (first !== undefined) throw first
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>()
      for (const { key } of map.items) {
        if (!isScalar(key)) continue
        const name = String(key.value)
        if (seen.has(name)) {
          const at = key.range ? lineCounter.linePos(key.range[0]) : undefined
          const where = at === undefined ? '' : ` at line ${at.line}, column ${at.col}`
          throw new SyntaxError(
            `Map keys must be unique: "${name.slice(0, 80)}" appears twice${where}`,
          )
        }
        seen.add(name)
      }
    },
  })
  return doc.toJS() as unknown
}

/**
 * Reads and parses a JSON or YAML config file: a regular file of at most 1 MB
 * ({@link MAX_CONFIG_BYTES}).
 */
export async function readConfigFile(file: string): Promise<unknown> {
  const text = await readSmallFile(file, 'config file', MAX_CONFIG_BYTES)
  try {
    if (file.endsWith('.json')) return JSON.parse(text) as unknown
    return parseYamlConfig(text)
  } catch (error) {
    throw new CliError(
      'ERR_TUNNEL_CLI_CONFIG',
      `Cannot parse config file ${file}: ${parseErrorText(error, text)}`,
      { cause: error },
    )
  }
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.')
  let node = target
  for (const part of parts.slice(0, -1)) {
    node[part] ??= {}
    node = node[part] as Record<string, unknown>
  }
  node[parts[parts.length - 1] ?? ''] = value
}

/** Environment variables with our prefix that are not config keys (typos). */
function checkUnknownEnv(env: Readonly<Record<string, string | undefined>>): void {
  const known = new Set([CONFIG_ENV, ...configSchema.map((k) => k.env)])
  for (const name of Object.keys(env)) {
    if (!name.startsWith(ENV_PREFIX) || known.has(name)) continue
    if (name === `${ENV_PREFIX}TUNNEL_TOKEN` || name === `${ENV_PREFIX}TOKEN`) {
      throw new CliError(
        'ERR_TUNNEL_CLI_CONFIG',
        `Unknown environment variable ${name}: the token is read from TUNNEL_TOKEN or a token file ("tunnel.tokenFile")`,
      )
    }
    const guess = suggest(name, known)
    throw new CliError(
      'ERR_TUNNEL_CLI_CONFIG',
      `Unknown environment variable ${name}${guess === undefined ? '' : ` (did you mean ${guess}?)`}`,
    )
  }
}

/**
 * Loads the configuration: defaults, then the config file, then `SCANNER_TUNNEL_*` environment
 * variables, then flags. Every value is validated; the first problem throws a {@link CliError}
 * naming the key, the value and what was expected.
 *
 * @example
 * ```ts
 * const { config } = await loadConfig({ file: 'scanner-tunnel.yaml', env: process.env, cwd: process.cwd() })
 * ```
 */
export async function loadConfig(sources: ConfigSources): Promise<LoadedConfig> {
  const { env, cwd } = sources
  const flags = sources.flags ?? {}
  const fileArg = sources.file ?? env[CONFIG_ENV]
  const file = fileArg === undefined || fileArg === '' ? undefined : resolve(cwd, fileArg)
  checkUnknownEnv(env)
  const fileValues =
    file === undefined ? new Map<string, unknown>() : flattenFile(await readConfigFile(file), file)
  const fileBase = file === undefined ? cwd : dirname(file)

  const result: Record<string, unknown> = {}
  for (const entry of configSchema) {
    let value: unknown = entry.default
    const flagKey = entry.flag.slice(2)
    const flagValue = flags[flagKey]
    const envValue = env[entry.env]
    if (flagValue !== undefined) {
      const origin: Origin = { kind: 'flag', name: entry.flag }
      let raw: unknown = flagValue
      if (Array.isArray(flagValue)) {
        const strings = flagValue as string[]
        if (entry.type === 'record') raw = pairsToRecord(entry, strings, origin)
        else if (entry.type === 'list') {
          raw = strings.flatMap((s) => fromString(entry, s, origin) as string[])
        } else raw = strings[strings.length - 1]
      } else if (typeof flagValue === 'string') raw = fromString(entry, flagValue, origin)
      value = validate(entry, raw, origin, cwd)
    } else if (envValue !== undefined) {
      const origin: Origin = { kind: 'env', name: entry.env }
      value = validate(entry, fromString(entry, envValue, origin), origin, cwd)
    } else if (fileValues.has(entry.key)) {
      const origin: Origin = { kind: 'file', file: file ?? '' }
      value = validate(entry, fileValues.get(entry.key), origin, fileBase)
    } else if (Array.isArray(value)) {
      value = [...(value as unknown[])]
    } else if (typeof value === 'object' && value !== null) {
      value = { ...value }
    }
    setPath(result, entry.key, value)
  }
  const config = result as unknown as CliConfig
  crossCheck(config)
  return { config, file }
}

function crossCheck(config: CliConfig): void {
  const { tunnel } = config
  const tokenArg = tunnel.args.find((a) => /^--?token(-file)?(=|$)/.test(a) || a === 'token')
  if (tokenArg !== undefined) {
    throw new CliError(
      'ERR_TUNNEL_CLI_CONFIG',
      `Invalid config "tunnel.args": "${tokenArg.split('=')[0] ?? ''}" is not accepted, the token must never be a command-line argument (visible in ps); use TUNNEL_TOKEN or "tunnel.tokenFile"`,
    )
  }
  if (tunnel.backoff.maxDelayMs < tunnel.backoff.initialDelayMs) {
    throw new CliError(
      'ERR_TUNNEL_CLI_CONFIG',
      `Invalid config "tunnel.backoff.maxDelayMs": expected an integer >= tunnel.backoff.initialDelayMs (${tunnel.backoff.initialDelayMs}), got ${tunnel.backoff.maxDelayMs}`,
    )
  }
  if (tunnel.url !== undefined && tunnel.configFile !== undefined) {
    throw new CliError(
      'ERR_TUNNEL_CLI_CONFIG',
      'Invalid config "tunnel.url": a quick tunnel ("tunnel.url") and "tunnel.configFile" cannot be combined',
    )
  }
}

/** How the tunnel is identified: by a token, a quick tunnel URL or cloudflared's config file. */
export type TunnelKind = 'named' | 'quick' | 'config-file'

/** The kind of tunnel a configuration describes. */
export function tunnelKind(config: CliConfig): TunnelKind {
  if (config.tunnel.url !== undefined) return 'quick'
  if (config.tunnel.configFile !== undefined) return 'config-file'
  return 'named'
}

/** Where the token came from. */
export type TokenSource = 'TUNNEL_TOKEN' | 'credential' | 'tunnel.tokenFile'

/** The resolved token (never printed) and its source. */
export interface ResolvedToken {
  readonly token: string | undefined
  readonly source: TokenSource | undefined
}

async function readTokenFile(path: string, label: string): Promise<string> {
  const text = await readSmallFile(path, label, MAX_TOKEN_BYTES)
  const token = text.trim()
  if (token === '') throw new CliError('ERR_TUNNEL_CLI_CONFIG', `The ${label} ${path} is empty`)
  return token
}

/**
 * Finds the tunnel token: `TUNNEL_TOKEN`, then `$CREDENTIALS_DIRECTORY/tunnel-token` (systemd
 * `LoadCredential=`), then `tunnel.tokenFile`. A named tunnel without a token, or a token file
 * that cannot be read, throws a {@link CliError} naming the key.
 */
export async function resolveToken(
  config: CliConfig,
  env: Readonly<Record<string, string | undefined>>,
): Promise<ResolvedToken> {
  const fromEnv = env.TUNNEL_TOKEN?.trim()
  if (fromEnv !== undefined && fromEnv !== '') return { token: fromEnv, source: 'TUNNEL_TOKEN' }
  const credentials = env.CREDENTIALS_DIRECTORY
  if (credentials !== undefined && credentials !== '') {
    const path = join(credentials, 'tunnel-token')
    try {
      return { token: await readTokenFile(path, 'credential'), source: 'credential' }
    } catch (error) {
      const cause = (error as CliError).cause as NodeJS.ErrnoException | undefined
      if (cause?.code !== 'ENOENT') throw error
    }
  }
  const file = config.tunnel.tokenFile
  if (file !== undefined) {
    return {
      token: await readTokenFile(file, 'token file "tunnel.tokenFile"'),
      source: 'tunnel.tokenFile',
    }
  }
  if (tunnelKind(config) === 'named') {
    throw new CliError(
      'ERR_TUNNEL_CLI_CONFIG',
      'Missing tunnel token for a named tunnel: set TUNNEL_TOKEN or "tunnel.tokenFile" ' +
        '(--tunnel-token-file, SCANNER_TUNNEL_TUNNEL_TOKEN_FILE); for a quick tunnel set "tunnel.url"',
    )
  }
  return { token: undefined, source: undefined }
}
