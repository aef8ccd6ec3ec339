import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'

const here = fileURLToPath(new URL('..', import.meta.url))
const tunnelDir = dirname(createRequire(import.meta.url).resolve('@scanner/tunnel/package.json'))
const cli = join(tunnelDir, 'src', 'cli.ts')

/** The flags the committed unit was generated with (see README.md). */
const unitFlags = [
  'unit',
  '--config',
  'scanner-tunnel.yaml',
  '--installed-config',
  '/etc/scanner-tunnel/scanner-tunnel.yaml',
  '--credential',
  '--user',
  'scanner',
  '--node',
  '/usr/bin/node',
  '--cli',
  '/usr/lib/node_modules/@scanner/tunnel/dist/cli.js',
]

function scannerTunnel(args: readonly string[]) {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('SCANNER_TUNNEL_')),
  )
  return spawnSync(
    process.execPath,
    ['--conditions=@scanner/source', '--import', 'tsx', cli, ...args],
    { cwd: here, env, encoding: 'utf8', timeout: 20_000 },
  )
}

describe('examples/watchdog', () => {
  it('has a config that the CLI validates', () => {
    const doc = parse(readFileSync(join(here, 'scanner-tunnel.yaml'), 'utf8')) as Record<
      string,
      unknown
    >
    expect(Object.keys(doc).sort()).toEqual(['dns', 'log', 'origin', 'status', 'tunnel'])
    expect(JSON.stringify(doc)).not.toMatch(/"token"/)
    // `unit` loads and validates the whole config (unknown keys and bad values exit 2).
    const r = scannerTunnel(unitFlags)
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
  })

  it('ships exactly the unit that `scanner-tunnel unit` prints', () => {
    const r = scannerTunnel(unitFlags)
    expect(r.status).toBe(0)
    expect(readFileSync(join(here, 'scanner-tunnel.service'), 'utf8')).toBe(r.stdout)
  })

  it('ships a unit that systemd-analyze verify accepts (when installed)', () => {
    const unit = readFileSync(join(here, 'scanner-tunnel.service'), 'utf8')
    expect(unit).toContain('LoadCredential=tunnel-token:/etc/scanner-tunnel/tunnel-token')
    expect(unit).toMatch(
      /^ExecStart=\S+ \S+ run --config \/etc\/scanner-tunnel\/scanner-tunnel\.yaml$/m,
    )
    expect(unit).not.toMatch(/^ExecStart=.*token/m)
    if (spawnSync('systemd-analyze', ['--version']).status !== 0) return
    // verify checks that ExecStart's binary exists: point it at this machine's node and CLI.
    const dir = mkdtempSync(join(tmpdir(), 'watchdog-unit-'))
    try {
      const local = unit
        .replace('/usr/bin/node', process.execPath)
        .replace('/usr/lib/node_modules/@scanner/tunnel/dist/cli.js', cli)
      const path = join(dir, 'scanner-tunnel.service')
      writeFileSync(path, local)
      const r = spawnSync('systemd-analyze', ['verify', path], { encoding: 'utf8' })
      expect(r.stderr).toBe('')
      expect(r.status).toBe(0)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('rotates every log file and reopens them with a reload (SIGHUP)', () => {
    const rotate = readFileSync(join(here, 'logrotate', 'scanner-tunnel'), 'utf8')
    expect(rotate).toContain('/var/log/scanner-tunnel/*.log')
    expect(rotate).toContain('systemctl reload scanner-tunnel.service')
    const directives = rotate.split('\n').filter((l) => !l.trim().startsWith('#'))
    expect(directives.join('\n')).not.toContain('copytruncate')
    // Any number of rotations a day: dateext names one file per day ("already exists,
    // skipping rotation" on the second), so numbered files are used.
    expect(directives.join('\n')).not.toMatch(/\bdateext\b/)
    expect(directives.join('\n')).toMatch(/^\s*maxsize\s/m)
    // No static user: the service (DynamicUser=yes by default) creates its files on reopen.
    expect(directives.join('\n')).not.toMatch(/^\s*(su|create)\b/m)
    const unit = readFileSync(join(here, 'scanner-tunnel.service'), 'utf8')
    expect(unit).toContain('ExecReload=/bin/kill -HUP $MAINPID')
    expect(unit).toContain('ReadWritePaths=/var/log/scanner-tunnel')
  })
})
