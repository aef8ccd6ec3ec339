import { accessSync, constants, statSync } from 'node:fs'
import { join } from 'node:path'
import { pino } from 'pino'
import type { DestinationStream, LevelWithSilent, Logger as PinoLogger } from 'pino'
import { ScannerError, invalidOption } from './errors.js'

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
  /** Every record. */
  monitor: 'tunnel_monitor.log',
  /** Records at level error and above. */
  errors: 'tunnel_errors.log',
  /** Records whose `module` binding is `health`. */
  health: 'health_checks.log',
  /** Records whose `module` binding is `cloudflared` (the child's own output). */
  cloudflared: 'cloudflared.log',
})

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
}

/** A pino logger made by {@link createLogger}, with file reopening for logrotate. */
export interface ScannerLogger extends PinoLogger {
  /** Reopens the log-directory files (call it on SIGHUP after logrotate moved them). */
  reopen(): void
  /** Flushes and closes the log-directory files. */
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
const MODULE_MARK = '"module":"'

function moduleOf(line: string): string | undefined {
  if (!line.includes(MODULE_MARK)) return undefined
  try {
    const record = JSON.parse(line) as { module?: unknown }
    return typeof record.module === 'string' ? record.module : undefined
  } catch {
    return undefined
  }
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
 * log directory: `tunnel_monitor.log` (every record), `tunnel_errors.log` (error and above),
 * `health_checks.log` (module `health`) and `cloudflared.log` (module `cloudflared`), files
 * created with mode 0640.
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
  const { logDir, redact = [], secrets = [] } = options
  if (!Array.isArray(redact)) throw invalidOption('redact', 'an array of strings', redact)
  if (!Array.isArray(secrets)) throw invalidOption('secrets', 'an array of strings', secrets, false)
  if (logDir !== undefined && (typeof logDir !== 'string' || logDir === '')) {
    throw invalidOption('logDir', 'a directory path', logDir)
  }

  const files: Partial<Record<keyof typeof logFiles, FileSink>> = {}
  if (logDir !== undefined) {
    checkLogDir(logDir)
    for (const [key, file] of Object.entries(logFiles) as [keyof typeof logFiles, string][]) {
      files[key] = openSink(join(logDir, file))
    }
  }
  const primary =
    options.destination === false
      ? undefined
      : (options.destination ?? pino.destination({ dest: 1, sync: true }))
  const scrub = scrubber(secrets)

  const destination: DestinationStream = {
    write(raw: string) {
      const line = scrub(raw)
      primary?.write(line)
      if (logDir === undefined) return
      files.monitor?.write(line)
      const level = Number(LEVEL_RE.exec(line)?.[1] ?? 30)
      if (level >= 50) files.errors?.write(line)
      const mod = moduleOf(line)
      if (mod === 'health') files.health?.write(line)
      else if (mod === 'cloudflared') files.cloudflared?.write(line)
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
  logger.reopen = () => {
    for (const sink of Object.values(files)) sink.reopen()
  }
  logger.closeFiles = () => {
    for (const sink of Object.values(files)) sink.end()
  }
  return logger
}
