import { accessSync, constants, statSync } from 'node:fs'
import { join } from 'node:path'
import { pino } from 'pino'
import type { DestinationStream, LevelWithSilent, Logger as PinoLogger } from 'pino'
import { ScannerError, invalidOption } from './errors.js'
import { OutputLimiter } from './log-limit.js'
import type { OutputLimitOptions } from './log-limit.js'

/** One logging method, pino style: an object first, then a message. */
export interface LogFn {
  (obj: object, msg?: string): void
  (msg: string): void
}

/**
 * The logger every `@scanner/*` package accepts: the subset of pino it uses. A pino logger
 * satisfies it as is.
 */
export interface Logger {
  debug: LogFn
  info: LogFn
  warn: LogFn
  error: LogFn
  fatal?: LogFn
  trace?: LogFn
  /** Returns a logger that adds `bindings` to every record (for example `{ module: 'tunnel' }`). */
  child(bindings: Record<string, unknown>): Logger
}

const noop = (): void => undefined

/**
 * A logger that discards everything: the default of every package.
 *
 * @example
 * ```ts
 * const log = options.logger ?? noopLogger
 * ```
 */
export const noopLogger: Logger = Object.freeze({
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  fatal: noop,
  trace: noop,
  child: () => noopLogger,
})

/**
 * Field names redacted by {@link createLogger} by default, at the top level and up to two
 * levels deep (`token`, `x.token`, `x.y.token`), plus request headers.
 */
export const defaultRedactKeys: readonly string[] = Object.freeze([
  'token',
  'tunnelToken',
  'TUNNEL_TOKEN',
  'authorization',
  'Authorization',
  'cookie',
  'Cookie',
  'set-cookie',
  'password',
  'secret',
])

/** pino `redact.paths` built from {@link defaultRedactKeys}. */
export function defaultRedactPaths(): string[] {
  const paths: string[] = []
  for (const key of defaultRedactKeys) {
    const k = /^[A-Za-z_$][\w$]*$/.test(key) ? key : `["${key}"]`
    const sep = k.startsWith('[') ? '' : '.'
    paths.push(k, `*${sep}${k}`, `*.*${sep}${k}`)
  }
  paths.push('req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]')
  return paths
}

/** Names of the files written in a log directory. */
export const logFiles = Object.freeze({
  /** Every record (JSON lines). */
  monitor: 'tunnel_monitor.log',
  /** Records at level error and above (JSON lines). */
  errors: 'tunnel_errors.log',
  /** Records with a `module` binding `health` or `dns` (JSON lines). */
  health: 'health_checks.log',
  /** cloudflared's own output: module `cloudflared`, the text as printed (one line per line). */
  cloudflared: 'cloudflared.log',
  /**
   * The origin service's output: module `origin`, the text as printed. The name is
   * configurable ({@link CreateLoggerOptions.originLogFile}).
   */
  origin: 'origin.log',
})

/** Modules whose records are a child process's output, written raw to their own file. */
const OUTPUT_MODULES = Object.freeze(['cloudflared', 'origin'] as const)
type OutputModule = (typeof OUTPUT_MODULES)[number]

/** Options of {@link createLogger}. */
export interface CreateLoggerOptions {
  /**
   * Minimum level written.
   * @default 'info'
   */
  readonly level?: LevelWithSilent
  /** `name` binding of the root logger. */
  readonly name?: string
  /**
   * Extra pino redact paths, added to {@link defaultRedactPaths}. Build them from constants,
   * never from user input.
   * @default []
   */
  readonly redact?: readonly string[]
  /**
   * Secret values (for example the tunnel token) that are replaced by `[Redacted]` wherever
   * they appear in a record, messages included.
   * @default []
   */
  readonly secrets?: readonly string[]
  /**
   * Directory for the watchdog layout ({@link logFiles}). Must exist and be writable.
   * @default undefined (no files)
   */
  readonly logDir?: string
  /**
   * Where records go besides the log directory. `false` writes only to the directory.
   * @default standard output
   */
  readonly destination?: DestinationStream | false
  /**
   * File name (in `logDir`) of the origin service's output, for example `django.log`.
   * @default 'origin.log'
   */
  readonly originLogFile?: string
  /**
   * Rate limit of child output (records of module `cloudflared` or `origin`), applied once
   * before every destination: lines of one shape are written `repeats` times per window and
   * then summarised as `… repeated N times in T s: <line>`; each source is also held to
   * `linesPerSecond` (bursts of `burst`), the excess summarised as `… N lines dropped by the
   * rate limit`. `false` writes every line.
   * @default { repeats: 5, windowMs: 10000, linesPerSecond: 100, burst: 1000 }
   */
  readonly outputLimit?: OutputLimitOptions | false
}

/** A pino logger made by {@link createLogger}, with file reopening for logrotate. */
export interface ScannerLogger extends PinoLogger {
  /** Reopens the log-directory files (call it on SIGHUP after logrotate moved them). */
  reopen(): void
  /** Writes the pending rate-limit summaries, then flushes and closes the log-directory files. */
  closeFiles(): void
}

interface FileSink {
  write(line: string): void
  reopen(): void
  end(): void
}

function openSink(path: string): FileSink {
  const stream = pino.destination({
    dest: path,
    sync: true,
    mkdir: false,
    append: true,
    mode: 0o640,
  }) as DestinationStream & {
    reopen(): void
    end(): void
    flushSync(): void
  }
  return {
    write: (line) => {
      stream.write(line)
    },
    reopen: () => {
      stream.reopen()
    },
    end: () => {
      stream.end()
    },
  }
}

function checkLogDir(dir: string): void {
  let isDir = false
  try {
    isDir = statSync(dir).isDirectory()
  } catch (cause) {
    throw new ScannerError('ERR_CORE_LOG_DIR', `Log directory "${dir}" does not exist`, { cause })
  }
  if (!isDir)
    throw new ScannerError('ERR_CORE_LOG_DIR', `Log directory "${dir}" is not a directory`)
  try {
    accessSync(dir, constants.W_OK)
  } catch (cause) {
    throw new ScannerError('ERR_CORE_LOG_DIR', `Log directory "${dir}" is not writable`, { cause })
  }
}

const LEVEL_RE = /^\{"level":(\d+)/
const MODULE_RE = /"module":"((?:[^"\\]|\\.)*)"/g

/**
 * Every `module` value of a record, in order. Nested child loggers repeat the key (the DNS
 * monitor under the CLI writes `"module":"health"` then `"module":"dns"`); `JSON.parse` would
 * keep only the last, so the router reads them all and goes by the first.
 */
function modulesOf(line: string): string[] {
  if (!line.includes('"module":"')) return []
  const out: string[] = []
  for (const m of line.matchAll(MODULE_RE)) out.push(m[1] ?? '')
  return out
}

const LEVEL_METHODS: readonly [number, 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'][] =
  [
    [60, 'fatal'],
    [50, 'error'],
    [40, 'warn'],
    [30, 'info'],
    [20, 'debug'],
    [10, 'trace'],
  ]

function levelMethod(level: number): 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' {
  return LEVEL_METHODS.find(([n]) => level >= n)?.[1] ?? 'trace'
}

function checkFileName(name: unknown): string {
  if (typeof name !== 'string' || !/^[\w][\w.-]{0,200}$/.test(name) || name.includes('..')) {
    throw invalidOption('originLogFile', 'a plain file name such as "django.log"', name)
  }
  return name
}

function scrubber(secrets: readonly string[]): (line: string) => string {
  const values = secrets.filter((s) => typeof s === 'string' && s.length >= 4)
  if (values.length === 0) return (line) => line
  return (line) => {
    let out = line
    for (const value of values) {
      if (out.includes(value)) out = out.split(value).join('[Redacted]')
      const json = JSON.stringify(value).slice(1, -1)
      if (json !== value && out.includes(json)) out = out.split(json).join('[Redacted]')
    }
    return out
  }
}

/**
 * Creates a pino logger that redacts secrets and, optionally, writes the original watchdog's
 * log directory ({@link logFiles}), files created with mode 0640: `tunnel_monitor.log` (every
 * record), `tunnel_errors.log` (error and above), `health_checks.log` (module `health` or
 * `dns`), all JSON lines, and `cloudflared.log` / `origin.log` (the child's text as printed).
 * Child output is rate limited once, before every destination ({@link CreateLoggerOptions.outputLimit}).
 *
 * @throws {ScannerError} `ERR_CORE_LOG_DIR` when `logDir` is missing, not a directory or not writable.
 * @example
 * ```ts
 * const logger = createLogger({ logDir: '/var/log/scanner', secrets: [process.env.TUNNEL_TOKEN ?? ''] })
 * process.on('SIGHUP', () => logger.reopen())
 * logger.child({ module: 'health' }).info({ status: 'healthy' }, 'health check')
 * ```
 */
export function createLogger(options: CreateLoggerOptions = {}): ScannerLogger {
  if (typeof options !== 'object' || options === null) {
    throw invalidOption('options', 'an object', options)
  }
  const { logDir, redact = [], secrets = [], outputLimit = {} } = options
  if (!Array.isArray(redact)) throw invalidOption('redact', 'an array of strings', redact)
  if (!Array.isArray(secrets)) throw invalidOption('secrets', 'an array of strings', secrets, false)
  if (logDir !== undefined && (typeof logDir !== 'string' || logDir === '')) {
    throw invalidOption('logDir', 'a directory path', logDir)
  }
  const originFile = checkFileName(options.originLogFile ?? logFiles.origin)
  if (Object.entries(logFiles).some(([key, file]) => key !== 'origin' && file === originFile)) {
    throw invalidOption('originLogFile', 'a name other than the other log files', originFile)
  }
  if (outputLimit !== false && (typeof outputLimit !== 'object' || outputLimit === null)) {
    throw invalidOption('outputLimit', 'an object or false', outputLimit)
  }
  if (outputLimit !== false) {
    for (const [key, value] of Object.entries(outputLimit)) {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 1) {
        throw invalidOption(`outputLimit.${key}`, 'a number >= 1', value)
      }
    }
  }

  const files: Partial<Record<keyof typeof logFiles, FileSink>> = {}
  if (logDir !== undefined) {
    checkLogDir(logDir)
    for (const [key, file] of Object.entries(logFiles) as [keyof typeof logFiles, string][]) {
      files[key] = openSink(join(logDir, key === 'origin' ? originFile : file))
    }
  }
  const primary =
    options.destination === false
      ? undefined
      : (options.destination ?? pino.destination({ dest: 1, sync: true }))
  const scrub = scrubber(secrets)
  const limiter = outputLimit === false ? undefined : new OutputLimiter(outputLimit)
  /** Set while a summary record is written: it passes the limiter, marked in the raw file. */
  let summarising = false

  const destination: DestinationStream = {
    write(raw: string) {
      const line = scrub(raw)
      const modules = modulesOf(line)
      const first = modules[0]
      const output = OUTPUT_MODULES.find((m) => m === first)
      let text: string | undefined
      if (output !== undefined && (limiter !== undefined || logDir !== undefined)) {
        try {
          const record = JSON.parse(line) as { msg?: unknown; level?: unknown }
          text = typeof record.msg === 'string' ? record.msg : ''
          const level = typeof record.level === 'number' ? record.level : 30
          if (!summarising && limiter?.admit(output, text, level) === false) return
        } catch {
          text = undefined
        }
      }
      primary?.write(line)
      if (logDir === undefined) return
      files.monitor?.write(line)
      const level = Number(LEVEL_RE.exec(line)?.[1] ?? 30)
      if (level >= 50) files.errors?.write(line)
      if (modules.includes('health') || modules.includes('dns')) files.health?.write(line)
      if (output !== undefined && text !== undefined) {
        const stamp = summarising ? `${new Date().toISOString()} scanner: ` : ''
        files[output]?.write(`${stamp}${text}\n`)
      }
    },
  }

  const logger = pino(
    {
      level: options.level ?? 'info',
      ...(options.name === undefined ? {} : { name: options.name }),
      redact: {
        paths: [...defaultRedactPaths(), ...(redact as readonly string[])],
        censor: '[Redacted]',
      },
    },
    destination,
  ) as ScannerLogger

  const summarise = (all: boolean): void => {
    if (limiter === undefined) return
    for (const summary of limiter.drain(all)) {
      summarising = true
      try {
        logger
          .child({ module: summary.source as OutputModule })
          [levelMethod(summary.level)]({ repeated: summary.count, summary: true }, summary.message)
      } finally {
        summarising = false
      }
    }
  }
  const timer =
    limiter === undefined
      ? undefined
      : setInterval(() => {
          summarise(false)
        }, 1000)
  timer?.unref()

  logger.reopen = () => {
    for (const sink of Object.values(files)) sink.reopen()
  }
  logger.closeFiles = () => {
    summarise(true)
    if (timer !== undefined) clearInterval(timer)
    for (const sink of Object.values(files)) sink.end()
  }
  return logger
}
