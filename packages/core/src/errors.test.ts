import { describe, expect, it } from 'vitest'
import {
  ScannerError,
  checkNumber,
  checkOneOf,
  invalidOption,
  isInvalidOptionError,
  isScannerError,
} from './errors.js'

describe('ScannerError', () => {
  it('carries code, message, status and cause', () => {
    const cause = new Error('root')
    const error = new ScannerError('ERR_CORE_TEST', 'boom', { cause, status: 503 })
    expect(error).toBeInstanceOf(Error)
    expect(error.code).toBe('ERR_CORE_TEST')
    expect(error.message).toBe('boom')
    expect(error.status).toBe(503)
    expect(error.cause).toBe(cause)
    expect(error.stack).toContain('boom')
  })

  it('is recognised by its brand and code, even as a structural copy from another install', () => {
    const error = new ScannerError('ERR_CORE_TEST', 'x')
    expect(isScannerError(error)).toBe(true)
    expect(isScannerError(error, 'ERR_CORE_TEST')).toBe(true)
    expect(isScannerError(error, 'ERR_CORE_OTHER')).toBe(false)
    // A copy made by another module instance: same global brand symbol, no shared class.
    const foreign = Object.assign(new Error('x'), {
      code: 'ERR_CORE_TEST',
      [Symbol.for('@scanner/error')]: true,
    })
    expect(isScannerError(foreign, 'ERR_CORE_TEST')).toBe(true)
  })

  it('rejects look-alikes without the brand and non-objects', () => {
    expect(isScannerError(Object.assign(new Error('x'), { code: 'ERR_CORE_TEST' }))).toBe(false)
    for (const value of [null, undefined, 'ERR_CORE_TEST', 42, {}]) {
      expect(isScannerError(value)).toBe(false)
    }
  })
})

describe('option validation', () => {
  it('invalidOption names the option, the expectation and the value', () => {
    const error = invalidOption('backoff.factor', 'a number >= 1', 0.5)
    expect(error).toBeInstanceOf(TypeError)
    expect(error.message).toBe('Invalid option "backoff.factor": expected a number >= 1, got 0.5')
    expect(error.option).toBe('backoff.factor')
    expect(isInvalidOptionError(error)).toBe(true)
    expect(isInvalidOptionError(new TypeError('x'))).toBe(false)
  })

  it('invalidOption can hide a secret value', () => {
    const error = invalidOption('token', 'a base64 string', 'super-secret-token', false)
    expect(error.message).not.toContain('super-secret-token')
    expect(error.message).toContain('got a string')
  })

  it('checkNumber returns the fallback, accepts valid values and rejects bad ones', () => {
    expect(checkNumber('n', undefined, 7)).toBe(7)
    expect(checkNumber('n', 3, 7, { min: 1, max: 5, integer: true })).toBe(3)
    for (const bad of [Number.NaN, Infinity, -1, '3', null, 1.5, 6]) {
      expect(() => checkNumber('n', bad, 7, { min: 0, max: 5, integer: true })).toThrow(
        /Invalid option "n"/,
      )
    }
  })

  it('checkOneOf accepts listed values only', () => {
    expect(checkOneOf('mode', undefined, ['a', 'b'], 'a')).toBe('a')
    expect(checkOneOf('mode', 'b', ['a', 'b'], 'a')).toBe('b')
    expect(() => checkOneOf('mode', 'c', ['a', 'b'], 'a')).toThrow(
      'Invalid option "mode": expected one of "a", "b", got "c"',
    )
  })
})
