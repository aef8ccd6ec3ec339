import { invalidOption } from '@scanner/core'
import type { Logger } from '@scanner/core'
import { createHash } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export function checkString(option: string, value: unknown, secret = false): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value.trim() === '') {
    throw invalidOption(option, 'a non-empty string', value, !secret)
  }
  return value
}

export function checkBoolean(option: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw invalidOption(option, 'a boolean', value)
  return value
}

export function checkStringArray(option: string, value: unknown): readonly string[] {
  if (value === undefined) return []
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw invalidOption(option, 'an array of strings', value)
  }
  return Object.freeze([...(value as string[])])
}

export function checkEnv(
  option: string,
  value: unknown,
): Readonly<Record<string, string | undefined>> {
  if (value === undefined) return {}
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidOption(option, 'an object of strings', value)
  }
  for (const [key, v] of Object.entries(value)) {
    if (v !== undefined && typeof v !== 'string') {
      throw invalidOption(`${option}.${key}`, 'a string or undefined', v, false)
    }
  }
  return Object.freeze({ ...(value as Record<string, string | undefined>) })
}

export function checkLogger(value: unknown): Logger | undefined {
  if (value === undefined) return undefined
  const l = (typeof value === 'object' && value !== null ? value : {}) as Partial<Logger>
  if (
    typeof value !== 'object' ||
    typeof l.child !== 'function' ||
    typeof l.info !== 'function' ||
    typeof l.warn !== 'function' ||
    typeof l.error !== 'function' ||
    typeof l.debug !== 'function'
  ) {
    throw invalidOption(
      'logger',
      'a pino-compatible logger (debug, info, warn, error, child)',
      value,
    )
  }
  return value as Logger
}

export function checkSignal(value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined
  if (!(value instanceof AbortSignal)) throw invalidOption('signal', 'an AbortSignal', value)
  return value
}

export function checkPidFile(
  value: unknown,
  key: readonly unknown[],
  name: string,
): string | undefined {
  if (value === false) return undefined
  if (value === undefined) {
    const hash = createHash('sha256').update(JSON.stringify(key)).digest('hex').slice(0, 16)
    return join(tmpdir(), `scanner-${name.replace(/[^a-zA-Z0-9_-]/g, '_')}-${hash}.pid`)
  }
  if (typeof value !== 'string' || value === '') {
    throw invalidOption('pidFile', 'a path or false', value)
  }
  return value
}

/** Maps a pino-ish level name to a logger method name. */
export type LogMethod = 'debug' | 'info' | 'warn' | 'error'
