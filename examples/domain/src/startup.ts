import { isInvalidOptionError, ScannerError } from '@scanner/core'

const REASONS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'address already in use',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'address not available on this machine',
  ENOTFOUND: 'unknown host',
  EAI_AGAIN: 'host name could not be resolved',
}

function systemCode(error: unknown): string | undefined {
  for (let e = error, depth = 0; depth < 3 && typeof e === 'object' && e !== null; depth++) {
    const { code } = e as { code?: unknown }
    if (typeof code === 'string' && !code.startsWith('ERR_')) return code
    e = (e as { cause?: unknown }).cause
  }
  return undefined
}

/**
 * The error of a listener that could not start, naming the settings that chose its address
 * (`HOST`/`PORT` or `ADMIN_HOST`/`ADMIN_PORT`), the address and the system's reason.
 *
 * @example
 * ```ts
 * await listen().catch((e: unknown) => { throw listenError('PORT', 'HOST', config.host, config.port, e) })
 * ```
 */
export function listenError(
  portSetting: string,
  hostSetting: string,
  host: string,
  port: number,
  cause: unknown,
): ScannerError<'ERR_EXAMPLE_LISTEN'> {
  const code = systemCode(cause)
  const reason = code === undefined ? 'failed' : `${REASONS[code] ?? 'failed'} (${code})`
  return new ScannerError(
    'ERR_EXAMPLE_LISTEN',
    `Cannot listen on ${host}:${port} (${hostSetting}/${portSetting}): ${reason}`,
    { cause },
  )
}

/**
 * The one line a person sees when an example cannot start: the setting that was wrong (from
 * `readConfig`), or the address that could not be bound; never a stack trace.
 */
export function startupErrorLine(error: unknown): string {
  if (isInvalidOptionError(error)) {
    return error.message.replace(/^Invalid option "([^"]+)"/, 'Invalid setting $1')
  }
  const message = error instanceof Error ? error.message : String(error)
  return message.split('\n', 1)[0] ?? 'Startup failed'
}

/**
 * Ends an example that could not start: one line on stderr, exit code 1.
 *
 * @example
 * ```ts
 * const services = await createScannerServices().catch(exitOnStartupError)
 * ```
 */
export function exitOnStartupError(error: unknown): never {
  process.stderr.write(`scanner-api: ${startupErrorLine(error)}\n`)
  process.exit(1)
}
