import { describe, expect, it } from 'vitest'
import { buildCloudflaredArgs, forbiddenArg, goDuration } from './args.js'
import { createLineSplitter, RingBuffer, scrub } from './internal/lines.js'

function split(chunks: (string | Buffer)[], max = 16): [string, boolean][] {
  const out: [string, boolean][] = []
  const s = createLineSplitter((line, truncated) => out.push([line, truncated]), max)
  for (const c of chunks) s.push(c)
  s.end()
  return out
}

describe('createLineSplitter', () => {
  it('splits across chunks, strips CR, flushes the last line', () => {
    expect(split(['ab', 'c\nde\r\n', '\nfg'])).toEqual([
      ['abc', false],
      ['de', false],
      ['', false],
      ['fg', false],
    ])
  })

  it('cuts long lines and drops the rest up to the newline', () => {
    const s = createLineSplitter(() => undefined, 4)
    const out: [string, boolean][] = []
    const s2 = createLineSplitter((l, t) => out.push([l, t]), 4)
    for (const c of ['abcdefgh', 'ij\nxy\n', '0123456789\n']) s2.push(c)
    expect(out).toEqual([
      ['abcd', true],
      ['xy', false],
      ['0123', true],
    ])
    s.push('abcdefgh\n')
    expect(s.droppedBytes).toBe(4)
  })

  it('decodes invalid UTF-8 as U+FFFD, also across chunk boundaries', () => {
    const euro = Buffer.from('€') // 3 bytes
    const out = split([
      euro.subarray(0, 2),
      Buffer.concat([euro.subarray(2), Buffer.from([0x0a, 0xff, 0x0a])]),
    ])
    expect(out).toEqual([
      ['€', false],
      ['\uFFFD', false],
    ])
  })
})

describe('RingBuffer and scrub', () => {
  it('keeps the last N items in order', () => {
    const r = new RingBuffer<number>(3)
    for (let i = 1; i <= 5; i++) r.push(i)
    expect(r.toArray()).toEqual([3, 4, 5])
    r.clear()
    expect(r.toArray()).toEqual([])
  })

  it('removes every occurrence of every secret', () => {
    expect(scrub('a=s3cret b=s3cret c=other', ['s3cret', 'other', ''])).toBe(
      'a=[REDACTED] b=[REDACTED] c=[REDACTED]',
    )
  })
})

describe('scrub: a token broken by a cut or a line break', () => {
  // A cloudflared-shaped token (base64 JSON); the filler uses no base64 character.
  const TOKEN = Buffer.from(
    JSON.stringify({
      a: '699d98642c564d2e855e9661899b7252',
      t: '6ff42ae2-765d-4adf-8112-31c55c1551ef',
      s: 'c2VjcmV0LXRoYXQtbXVzdC1uZXZlci1sZWFr',
    }),
  ).toString('base64')
  const FILL = ' .|'

  /** The characters of the token left in `lines` once the redaction marks and filler are gone. */
  function leftovers(lines: readonly string[]): string[] {
    return lines
      .map((l) => l.replaceAll('[REDACTED]', ' ').replace(/[ .|\r]/g, ' '))
      .flatMap((l) => l.split(' '))
      .filter((piece) => piece !== '')
  }

  it('leaves no token characters in a line cut at 16 KB in the middle of the token', () => {
    for (const inside of [4, 50, 96, TOKEN.length - 4]) {
      const out: string[] = []
      const splitter = createLineSplitter((line) => out.push(scrub(line, [TOKEN])), 16_384)
      splitter.push(`${FILL.repeat(6000).slice(0, 16_384 - inside)}${TOKEN}${FILL.repeat(10)}\n`)
      splitter.end()
      expect(out).toHaveLength(1)
      expect(out[0]!.length).toBeLessThanOrEqual(16_384 + '[REDACTED]'.length)
      expect(leftovers(out)).toEqual([])
    }
  })

  it('redacts before it cuts: not one token character survives a cut at any position', () => {
    for (let inside = 1; inside < TOKEN.length; inside++) {
      const out: [string, boolean][] = []
      const splitter = createLineSplitter(
        (line, truncated) => out.push([line, truncated]),
        16_384,
        {
          redact: (line) => scrub(line, [TOKEN]),
          overscan: TOKEN.length,
        },
      )
      const line = `${FILL.repeat(6000).slice(0, 16_384 - inside)}${TOKEN}${FILL.repeat(10)}`
      splitter.push(`${line}\n`)
      splitter.end()
      expect(out).toHaveLength(1)
      // Redacted first, the line may even fit (`[REDACTED]` is shorter than the token).
      const [text, truncated] = out[0]!
      expect(Buffer.byteLength(text)).toBeLessThanOrEqual(16_384)
      expect(truncated).toBe(Buffer.byteLength(line.replace(TOKEN, '[REDACTED]')) > 16_384)
      // What is left is filler and the marker (perhaps cut itself): no piece of the token.
      const pieces = leftovers([text]).filter((piece) => !'[REDACTED]'.startsWith(piece))
      expect(pieces, `cut ${String(inside)} into the token`).toEqual([])
      for (let n = 1; n <= Math.min(inside, TOKEN.length); n++) {
        expect(text.endsWith(TOKEN.slice(0, n)), `cut ${String(inside)} into the token`).toBe(false)
      }
    }
  })

  it('keeps a long line without a secret as it was, cut at the limit', () => {
    const out: [string, boolean][] = []
    const splitter = createLineSplitter((line, truncated) => out.push([line, truncated]), 8, {
      redact: (line) => scrub(line, [TOKEN]),
      overscan: TOKEN.length,
    })
    splitter.push('abcdefghijklmnop\nshort\n')
    expect(out).toEqual([
      ['abcdefgh', true],
      ['short', false],
    ])
  })

  it('leaves at most 3 characters on either side of an LF, CR LF or bare CR inside the token', () => {
    for (const sep of ['\n', '\r\n', '\r']) {
      for (let at = 1; at < TOKEN.length; at++) {
        const out: string[] = []
        const splitter = createLineSplitter((line) => out.push(scrub(line, [TOKEN])), 16_384)
        splitter.push(`url ${TOKEN.slice(0, at)}${sep}${TOKEN.slice(at)} rest\n`)
        splitter.end()
        for (const piece of leftovers(out).filter((p) => p !== 'url' && p !== 'rest')) {
          expect(piece.length, `split at ${at} by ${JSON.stringify(sep)}: ${piece}`).toBeLessThan(4)
        }
      }
    }
  })

  it('redacts a piece of 8 or more characters anywhere, and keeps unrelated text', () => {
    expect(scrub(`a ${TOKEN.slice(20, 60)} b`, [TOKEN])).toBe('a [REDACTED] b')
    expect(scrub('Registered tunnel connection connIndex=0 location=AMS', [TOKEN])).toBe(
      'Registered tunnel connection connIndex=0 location=AMS',
    )
  })
})

describe('buildCloudflaredArgs', () => {
  const base = {
    metrics: '127.0.0.1:20241',
    protocol: 'auto' as const,
    gracePeriodMs: 30_000,
    logLevel: 'info' as const,
    transportLogLevel: 'warn' as const,
  }

  it('builds a named tunnel with the token only in the environment', () => {
    const { args, env } = buildCloudflaredArgs({
      ...base,
      token: 'TOKEN',
      args: ['--region', 'us'],
    })
    expect(args).toEqual([
      'tunnel',
      '--no-autoupdate',
      '--metrics',
      '127.0.0.1:20241',
      '--loglevel',
      'info',
      '--transport-loglevel',
      'warn',
      '--grace-period',
      '30s',
      '--region',
      'us',
      'run',
    ])
    expect(env).toEqual({ TUNNEL_TOKEN: 'TOKEN' })
  })

  it('builds quick, token-file and config tunnels, and forced protocols', () => {
    expect(buildCloudflaredArgs({ ...base, url: 'http://127.0.0.1:3000' }).args.slice(-2)).toEqual([
      '--url',
      'http://127.0.0.1:3000',
    ])
    expect(buildCloudflaredArgs({ ...base, tokenFile: '/t' }).args.slice(-3)).toEqual([
      'run',
      '--token-file',
      '/t',
    ])
    const cfg = buildCloudflaredArgs({ ...base, configFile: '/c.yml', protocol: 'http2' }).args
    expect(cfg.join(' ')).toContain('--protocol http2 --config /c.yml')
    expect(cfg.at(-1)).toBe('run')
  })

  it('formats Go durations and refuses secret or conflicting flags', () => {
    expect(goDuration(30_000)).toBe('30s')
    expect(goDuration(1500)).toBe('1500ms')
    expect(forbiddenArg(['--token=abc'])).toBe('--token')
    expect(forbiddenArg(['-token', 'abc'])).toBe('--token')
    expect(forbiddenArg(['--metrics', 'x'])).toBe('--metrics')
    expect(forbiddenArg(['--region', 'us'])).toBeUndefined()
  })
})
