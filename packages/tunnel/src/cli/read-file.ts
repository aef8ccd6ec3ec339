import { constants } from 'node:fs'
import { open } from 'node:fs/promises'
import { CliError } from './errors.js'

/** Largest config file `scanner-tunnel` reads. */
export const MAX_CONFIG_BYTES = 1024 * 1024
/** Largest token file `scanner-tunnel` reads. */
export const MAX_TOKEN_BYTES = 64 * 1024

function kindOf(stats: {
  isDirectory(): boolean
  isFIFO(): boolean
  isSocket(): boolean
  isCharacterDevice(): boolean
  isBlockDevice(): boolean
}): string {
  if (stats.isDirectory()) return 'a directory'
  if (stats.isFIFO()) return 'a FIFO (named pipe)'
  if (stats.isSocket()) return 'a socket'
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device'
  return 'not a regular file'
}

function why(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code ?? 'error'
  if (code === 'ENOENT') return 'no such file'
  if (code === 'EACCES') return 'permission denied'
  if (code === 'EISDIR') return 'it is a directory'
  return code
}

/**
 * Reads a small regular file as UTF-8: opened without blocking (a FIFO never hangs the CLI),
 * refused unless it is a regular file, and refused past `maxBytes` (checked on the open file
 * and again while reading, so a file that grows cannot get past it).
 *
 * @throws {CliError} `ERR_TUNNEL_CLI_CONFIG`: "Cannot read <label> <path>: <why>".
 */
export async function readSmallFile(
  path: string,
  label: string,
  maxBytes: number,
): Promise<string> {
  const fail = (reason: string, cause?: unknown): CliError =>
    new CliError('ERR_TUNNEL_CLI_CONFIG', `Cannot read ${label} ${path}: ${reason}`, {
      ...(cause === undefined ? {} : { cause }),
    })
  let handle
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY)
  } catch (error) {
    throw fail(why(error), error)
  }
  try {
    const stats = await handle.stat()
    if (!stats.isFile()) throw fail(`it is ${kindOf(stats)}; a regular file is required`)
    const limit = maxBytes / 1024 >= 1024 ? `${maxBytes / 1024 / 1024} MB` : `${maxBytes / 1024} KB`
    if (stats.size > maxBytes) {
      throw fail(`it is ${stats.size} bytes, more than the limit of ${limit}`)
    }
    const buffer = Buffer.alloc(maxBytes + 1)
    let length = 0
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null)
      if (bytesRead === 0) break
      length += bytesRead
      if (length > maxBytes) throw fail(`it is more than the limit of ${limit}`)
    }
    return buffer.toString('utf8', 0, length)
  } catch (error) {
    if (error instanceof CliError) throw error
    throw fail(why(error), error)
  } finally {
    await handle.close()
  }
}
