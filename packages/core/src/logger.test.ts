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
    expect(read(logFiles.cloudflared)).toEqual(['cloudflared line'])
    for (const file of Object.values(logFiles)) {
      expect(statSync(join(dir, file)).mode & 0o777).toBe(0o640)
    }
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
