import { describe, expect, it } from 'vitest'
import {
  PROXY_HEADERS,
  createTokenMatcher,
  isLocalRequest,
  isLoopbackAddress,
  presentedToken,
} from './auth.js'
import { prefersHealthJson } from './negotiate.js'

describe('isLoopbackAddress', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.8.9.10', true],
    ['::1', true],
    ['[::1]', true],
    ['::ffff:127.0.0.1', true],
    ['10.0.0.1', false],
    ['::ffff:10.0.0.1', false],
    ['127.example', false],
    ['', false],
    [undefined, false],
  ])('%s -> %s', (address, expected) => {
    expect(isLoopbackAddress(address)).toBe(expected)
  })

  it('treats a loopback request without proxy headers as local', () => {
    expect(isLocalRequest('127.0.0.1', {})).toBe(true)
    expect(isLocalRequest('::1', { host: 'localhost', accept: '*/*' })).toBe(true)
    expect(isLocalRequest('10.0.0.1', {})).toBe(false)
  })

  it('lists the edge marks and the proxy headers', () => {
    expect(PROXY_HEADERS).toEqual(
      expect.arrayContaining([
        'forwarded',
        'x-forwarded-for',
        'x-real-ip',
        'cf-connecting-ip',
        'true-client-ip',
        'cf-ray',
        'cf-visitor',
        'cdn-loop',
        'x-forwarded-proto',
        'x-forwarded-host',
        'via',
        'cf-ipcountry',
      ]),
    )
  })

  it.each(PROXY_HEADERS.map((name) => [name]))(
    'treats a loopback request carrying %s alone as remote',
    (name) => {
      expect(isLocalRequest('127.0.0.1', { [name]: 'x' })).toBe(false)
      expect(isLocalRequest('::1', { [name]: ['x'] })).toBe(false)
      // An empty value is still the header's presence.
      expect(isLocalRequest('127.0.0.1', { [name]: '' })).toBe(false)
    },
  )
})

describe('tokens', () => {
  it('reads Bearer and X-Health-Token and compares exactly', () => {
    const matches = createTokenMatcher('abc')
    expect(matches(presentedToken({ authorization: 'Bearer abc' }))).toBe(true)
    expect(matches(presentedToken({ authorization: 'bearer  abc ' }))).toBe(true)
    expect(matches(presentedToken({ 'x-health-token': 'abc' }))).toBe(true)
    expect(matches(presentedToken({ authorization: 'Basic abc' }))).toBe(false)
    expect(matches(presentedToken({ authorization: 'Bearer ab' }))).toBe(false)
    expect(matches(presentedToken({}))).toBe(false)
  })
})

describe('prefersHealthJson', () => {
  it.each([
    [undefined, false],
    ['application/json', false],
    ['application/health+json', true],
    ['application/health+json, application/json', true],
    ['application/json;q=1, application/health+json;q=0.9', false],
    ['application/health+json;q=0', false],
    ['*/*', false],
  ])('%s -> %s', (accept, expected) => {
    expect(prefersHealthJson(accept === undefined ? {} : { accept })).toBe(expected)
  })
})
