import { isErrorId } from '@scanner/core'
import { describe, expect, it } from 'vitest'
import { createErrorResponse, errorStatus } from './problem.js'

describe('errorStatus', () => {
  it('reads status or statusCode when it is an HTTP error status', () => {
    expect(errorStatus(Object.assign(new Error('x'), { status: 404 }))).toBe(404)
    expect(errorStatus({ statusCode: 415 })).toBe(415)
    expect(errorStatus({ status: 200 })).toBe(500)
    expect(errorStatus({ status: '404' })).toBe(500)
    expect(errorStatus('boom')).toBe(500)
    expect(errorStatus(null)).toBe(500)
  })
})

describe('createErrorResponse', () => {
  it('hides internal messages and stacks of 5xx errors', () => {
    const error = Object.assign(new Error('password=hunter2'), { code: 'EINTERNAL' })
    const { status, headers, body } = createErrorResponse(error, {
      instance: '/a',
      requestId: 'r1',
    })
    expect(status).toBe(500)
    expect(body).toEqual({
      type: 'about:blank',
      title: 'Internal Server Error',
      status: 500,
      detail: 'An unexpected error occurred. Quote the error ID when you report it.',
      instance: '/a',
      requestId: 'r1',
      errorId: body.errorId,
    })
    expect(isErrorId(body.errorId)).toBe(true)
    expect(headers).toEqual({
      'content-type': 'application/problem+json',
      'cache-control': 'no-store',
      'x-error-id': body.errorId,
      'x-request-id': 'r1',
    })
  })

  it('shows message and stack with exposeErrors', () => {
    const error = Object.assign(new Error('password=hunter2'), { code: 'EINTERNAL' })
    const { body } = createErrorResponse(error, { exposeErrors: true })
    expect(body).toMatchObject({ detail: 'password=hunter2', code: 'EINTERNAL' })
    expect(body.stack).toContain('password=hunter2')
  })

  it('keeps message, status and code of client-safe 4xx errors only', () => {
    const safe = Object.assign(new Error('symbol is invalid'), {
      status: 422,
      expose: true,
      code: 'E_SYMBOL',
    })
    expect(createErrorResponse(safe).body).toMatchObject({
      status: 422,
      title: 'Unprocessable Entity',
      detail: 'symbol is invalid',
      code: 'E_SYMBOL',
    })
    const unsafe = Object.assign(new Error('secret'), { status: 400 })
    expect(createErrorResponse(unsafe).body.detail).toBe('The request could not be processed.')
    // expose on a 5xx is ignored.
    const fake = Object.assign(new Error('secret'), { status: 500, expose: true })
    expect(createErrorResponse(fake).body.detail).not.toContain('secret')
  })

  it('adds retryAfter and Retry-After for 503 and 429', () => {
    const own = createErrorResponse({ status: 503, retryAfter: 7.2 })
    expect(own.body.retryAfter).toBe(8)
    expect(own.headers['retry-after']).toBe('8')
    const fromHeaders = createErrorResponse({ status: 429, headers: { 'Retry-After': '12' } })
    expect(fromHeaders.body.retryAfter).toBe(12)
    const fallback = createErrorResponse(new Error('x'), { status: 503, retryAfter: 3 })
    expect(fallback.headers['retry-after']).toBe('3')
    expect(createErrorResponse({ status: 503 }).body.retryAfter).toBe(5)
    expect(createErrorResponse({ status: 500 }).headers['retry-after']).toBeUndefined()
  })

  it('gives unique error IDs over 100,000 responses', () => {
    const ids = new Set<string>()
    for (let i = 0; i < 100_000; i++) ids.add(createErrorResponse(undefined).body.errorId)
    expect(ids.size).toBe(100_000)
  })
})
