import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { classifyCloudflaredLine, createLineClassifier } from '../src/classify.js'
import { GOLDEN_FILE, eventDigest, goldenDigests, goldenLines } from './classify-golden-input.js'

describe('classifier output is unchanged (golden digests)', () => {
  it('gives the same events as before its performance work, for the corpus and 3,000 mutations', () => {
    const expected = readFileSync(GOLDEN_FILE, 'utf8').trimEnd().split('\n')
    const actual = goldenDigests(classifyCloudflaredLine, createLineClassifier())
    expect(actual.length).toBe(expected.length)
    const first = actual.findIndex((digest, index) => digest !== expected[index])
    if (first >= 0) {
      // Name the first line that differs, and what the classifier makes of it now.
      const line = goldenLines()[first] ?? ''
      expect({ index: first, line, event: classifyCloudflaredLine(line) }).toEqual({
        index: -1,
        line,
        event: 'a different event (see the golden digests)',
      })
    }
    expect(first).toBe(-1)
  })

  it('the digest tells events apart by every property and by the order of fields', () => {
    const a = classifyCloudflaredLine('2026-11-28T10:22:31Z INF Starting tunnel a=1 b=2')
    const b = classifyCloudflaredLine('2026-11-28T10:22:31Z INF Starting tunnel b=2 a=1')
    expect(a.fields).toEqual(b.fields)
    expect(eventDigest(a, a, false)).not.toBe(eventDigest(b, b, false))
    expect(eventDigest(a, a, false)).not.toBe(eventDigest(a, a, true))
    expect(eventDigest(a, a, false)).toBe(eventDigest({ ...a }, { ...a }, false))
  })
})
