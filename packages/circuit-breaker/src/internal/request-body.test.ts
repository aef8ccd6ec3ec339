import { describe, expect, it } from 'vitest'
import { bodyError, isBodyError } from './request-body.js'

const syntaxError = (): SyntaxError => {
  try {
    JSON.parse('{"a":')
  } catch (error) {
    return error as SyntaxError
  }
  throw new Error('unreachable')
}

describe('isBodyError', () => {
  it('blames the body for a SyntaxError when the body read is not JSON', async () => {
    expect(await isBodyError({ text: Promise.resolve('{"symbol": "AC') }, syntaxError())).toBe(true)
  })

  it('keeps a SyntaxError from anything else a server error (the body was valid JSON)', async () => {
    expect(await isBodyError({ text: Promise.resolve('{"ok":true}') }, syntaxError())).toBe(false)
    expect(await isBodyError({}, syntaxError())).toBe(false)
    expect(await isBodyError(undefined, syntaxError())).toBe(false)
  })

  it('blames the body for the rejection of a body read itself (a client gone mid-body)', async () => {
    const aborted = new TypeError('terminated')
    const read = Promise.reject(aborted)
    expect(await isBodyError({ arrayBuffer: read }, aborted)).toBe(true)
    expect(await isBodyError({ arrayBuffer: read }, new Error('other'))).toBe(false)
  })

  it('answers 400 with a client-safe message that hides the parser error', () => {
    const cause = syntaxError()
    const error = bodyError(cause)
    expect(error).toMatchObject({
      status: 400,
      expose: true,
      message: 'Malformed JSON in request body',
    })
    expect(error.cause).toBe(cause)
    expect(bodyError(new TypeError('terminated')).message).toBe(
      'The request body could not be read',
    )
  })
})
