import {
  chmodSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { isScannerError } from './errors.js'
import { createLogger, defaultRedactKeys, logFiles, noopLogger } from './logger.js'

const TOKEN = 'eyJhIjoiMTIzNDU2Nzg5MCIsInQiOiJzZWNyZXQtdHVubmVsIn0='

function memory(): { lines: string[]; write(line: string): void } {
  const lines: string[] = []
  return { lines, write: (line) => lines.push(line) }
}

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'scanner-core-log-'))
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

describe('noopLogger', () => {
  it('accepts every call and returns itself as child', () => {
    noopLogger.info({ a: 1 }, 'x')
    noopLogger.error('x')
    expect(noopLogger.child({ module: 'x' })).toBe(noopLogger)
  })
})

describe('createLogger redaction', () => {
  it.each(defaultRedactKeys)('never prints a token placed in a field named %s', (key) => {
    const out = memory()
    const logger = createLogger({ destination: out, logDir: dir })
    logger.info({ [key]: TOKEN }, 'top level')
    logger.info({ env: { [key]: TOKEN } }, 'one level down')
    logger.info({ req: { headers: { [key]: TOKEN } } }, 'two levels down')
    logger.child({ module: 'cloudflared' }).warn({ child: { [key]: TOKEN } }, 'child')
    logger.closeFiles()
    const everything = [
      ...out.lines,
      ...Object.values(logFiles).map((f) => readFileSync(join(dir, f), 'utf8')),
    ].join('\n')
    expect(out.lines).toHaveLength(4)
    expect(everything).not.toContain(TOKEN)
    expect(everything).toContain('[Redacted]')
  })

  it('scrubs known secret values anywhere, messages included', () => {
    const out = memory()
    const logger = createLogger({ destination: out, secrets: [TOKEN] })
    logger.info({ argv: ['tunnel', '--token', TOKEN] }, `started with ${TOKEN}`)
    logger.error(new Error(`bad token ${TOKEN}`))
    expect(out.lines.join('')).not.toContain(TOKEN)
    expect(out.lines.join('')).toContain('[Redacted]')
  })

  it('accepts extra redact paths', () => {
    const out = memory()
    const logger = createLogger({ destination: out, redact: ['db.dsn'] })
    logger.info({ db: { dsn: 'postgres://u:p@h/db' } }, 'db')
    expect(out.lines[0]).not.toContain('postgres://')
  })
})

describe('createLogger log directory', () => {
  it('routes records to the watchdog files with mode 0640', () => {
    const logger = createLogger({ destination: false, logDir: dir, level: 'debug' })
    logger.info('monitor only')
    logger.error({ code: 7 }, 'an error')
    logger.fatal('a fatal')
    logger.child({ module: 'health' }).info({ status: 'healthy' }, 'health result')
    logger.child({ module: 'cloudflared' }).warn('cloudflared line')
    logger.child({ module: 'tunnel' }).info('tunnel event')
    logger.closeFiles()
    const read = (f: string): string[] =>
      readFileSync(join(dir, f), 'utf8')
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { msg: string }).msg)
    expect(read(logFiles.monitor)).toEqual([
      'monitor only',
      'an error',
      'a fatal',
      'health result',
      'cloudflared line',
      'tunnel event',
    ])
    expect(read(logFiles.errors)).toEqual(['an error', 'a fatal'])
    expect(read(logFiles.health)).toEqual(['health result'])
    expect(readFileSync(join(dir, logFiles.cloudflared), 'utf8')).toBe('cloudflared line\n')
    for (const file of Object.values(logFiles)) {
      expect(statSync(join(dir, file)).mode & 0o777).toBe(0o640)
    }
  })

  it('routes by the first module: a DNS monitor under the health logger writes health_checks.log', () => {
    const logger = createLogger({ destination: false, logDir: dir })
    // The CLI passes child({ module: 'health' }); the DNS monitor adds child({ module: 'dns' }).
    logger
      .child({ module: 'health' })
      .child({ module: 'dns' })
      .warn({ state: 'failed' }, 'dns failure')
    logger.child({ module: 'dns' }).info('dns alone')
    logger.child({ module: 'cloudflared' }).info({ module: 'other' }, 'field after the binding')
    logger.closeFiles()
    const health = readFileSync(join(dir, logFiles.health), 'utf8').trim().split('\n')
    expect(health.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual([
      'dns failure',
      'dns alone',
    ])
    expect(readFileSync(join(dir, logFiles.cloudflared), 'utf8')).toBe('field after the binding\n')
  })

  it('writes child output raw, once per file, to cloudflared.log and a configurable origin file', () => {
    const logger = createLogger({ destination: false, logDir: dir, originLogFile: 'django.log' })
    const quoted = 'GET /api "quoted" \\ back\tslash'
    logger.child({ module: 'origin' }).info({ stream: 'stdout' }, quoted)
    logger.child({ module: 'cloudflared' }).error('2024-01-01T00:00:00Z ERR boom')
    logger.closeFiles()
    expect(readFileSync(join(dir, 'django.log'), 'utf8')).toBe(`${quoted}\n`)
    expect(statSync(join(dir, 'django.log')).mode & 0o777).toBe(0o640)
    expect(readFileSync(join(dir, logFiles.cloudflared), 'utf8')).toBe(
      '2024-01-01T00:00:00Z ERR boom\n',
    )
    const monitor = readFileSync(join(dir, logFiles.monitor), 'utf8').trim().split('\n')
    expect(monitor).toHaveLength(2)
    const errors = readFileSync(join(dir, logFiles.errors), 'utf8').trim().split('\n')
    expect(errors).toHaveLength(1)
    expect(() => createLogger({ destination: false, originLogFile: '../x.log' })).toThrow(
      '"originLogFile"',
    )
    expect(() => createLogger({ destination: false, originLogFile: 'cloudflared.log' })).toThrow(
      '"originLogFile"',
    )
  })

  it('turns a flood of near-identical child lines into a bounded number of bytes', () => {
    const out = memory()
    // A window longer than the loop, so the count does not depend on the machine's speed.
    const logger = createLogger({
      destination: out,
      logDir: dir,
      outputLimit: { windowMs: 3_600_000 },
    })
    const cf = logger.child({ module: 'cloudflared', tunnel: 'cloudflared' })
    let offered = 0
    for (let i = 0; i < 50_000; i++) {
      const line = `2026-11-28T10:22:${String(i % 60).padStart(2, '0')}Z ERR Unable to establish connection with Cloudflare edge error="DialContext error: dial tcp 127.0.0.1:${7000 + (i % 900)}: connect: connection refused" connIndex=${i % 4}`
      offered += line.length + 1
      cf.error(line)
      cf.warn(`2026-11-28T10:22:31Z WRN observer channel buffer is full`)
    }
    logger.closeFiles()
    const raw = readFileSync(join(dir, logFiles.cloudflared), 'utf8')
    const written = Object.values(logFiles)
      .map((f) => statSync(join(dir, f)).size)
      .reduce((a, b) => a + b, 0)
    // 5 lines of each shape and one summary each, not 100 000 lines.
    expect(
      raw.split('\n').filter((l) => l.includes('ERR Unable') && !l.includes('repeated')),
    ).toHaveLength(5)
    expect(raw).toMatch(/scanner: … repeated 49995 times in \d+\.\d s: .*ERR Unable to establish/)
    expect(raw).toMatch(/… repeated 49995 times in \d+\.\d s: .*observer channel buffer is full/)
    expect(out.lines.length).toBeLessThanOrEqual(12)
    expect(written).toBeLessThan(20_000)
    expect(offered).toBeGreaterThan(5_000_000)
  })

  it('does not route on a module name that only appears in a message', () => {
    const logger = createLogger({ destination: false, logDir: dir })
    logger.info('text with "module":"health" inside')
    logger.closeFiles()
    expect(readFileSync(join(dir, logFiles.health), 'utf8')).toBe('')
  })

  it('reopens files after logrotate moved them', () => {
    const logger = createLogger({ destination: false, logDir: dir })
    logger.info('before rotation')
    renameSync(join(dir, logFiles.monitor), join(dir, `${logFiles.monitor}.1`))
    logger.reopen()
    logger.info('after rotation')
    logger.closeFiles()
    expect(readFileSync(join(dir, `${logFiles.monitor}.1`), 'utf8')).toContain('before rotation')
    const fresh = readFileSync(join(dir, logFiles.monitor), 'utf8')
    expect(fresh).toContain('after rotation')
    expect(fresh).not.toContain('before rotation')
  })

  it('names a missing directory', () => {
    const missing = join(dir, 'nope')
    try {
      createLogger({ logDir: missing })
      expect.unreachable()
    } catch (error) {
      expect(isScannerError(error, 'ERR_CORE_LOG_DIR')).toBe(true)
      expect((error as Error).message).toContain(missing)
    }
  })

  it('names a path that is a file', () => {
    const file = join(dir, 'file')
    writeFileSync(file, '')
    expect(() => createLogger({ logDir: file })).toThrow(
      `Log directory "${file}" is not a directory`,
    )
  })

  it('names an unwritable directory', () => {
    // root ignores mode bits, so as root use a directory the kernel refuses writes to.
    const target = process.getuid?.() === 0 ? '/proc/sys' : dir
    if (target === dir) chmodSync(dir, 0o500)
    expect(() => createLogger({ logDir: target })).toThrow(
      `Log directory "${target}" is not writable`,
    )
  })

  it('rejects bad options by name', () => {
    expect(() => createLogger({ logDir: '' })).toThrow('"logDir"')
    expect(() => createLogger({ redact: 'x' as never })).toThrow('"redact"')
  })
})
