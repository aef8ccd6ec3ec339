import { describe, expect, it } from 'vitest'
import { createTokenMatcher, isLocalRequest, isLoopbackAddress, presentedToken } from './auth.js'
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

  it.each([
    ['forwarded', 'for=203.0.113.1'],
    ['x-forwarded-for', '203.0.113.1'],
    ['x-real-ip', '203.0.113.1'],
    ['cf-connecting-ip', '203.0.113.1'],
    ['true-client-ip', '203.0.113.1'],
  ])('treats a loopback request carrying %s as remote', (name, value) => {
    expect(isLocalRequest('127.0.0.1', { [name]: value })).toBe(false)
    expect(isLocalRequest('127.0.0.1', { [name]: [value] })).toBe(false)
  })
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
