import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { renderUnit } from '../../src/cli/commands/unit.js'
import { cliPath, runCli, runInProcess, tempDir } from './helpers.js'

const hasSystemdAnalyze =
  spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' }).status === 0

let dir: string
let cleanup: () => void
beforeAll(() => {
  ;({ dir, cleanup } = tempDir())
})
afterAll(() => {
  cleanup()
})

/** Settings of a unit: `Key` → values, in order. */
function settings(unit: string): Map<string, string[]> {
  const map = new Map<string, string[]>()
  for (const line of unit.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line)
    if (m) map.set(m[1]!, [...(map.get(m[1]!) ?? []), m[2]!])
  }
  return map
}

/**
 * Checks a unit with `systemd-analyze verify` (which also checks that ExecStart's binary exists)
 * when the tool is installed; otherwise checks the same properties by parsing the unit.
 */
function verify(path: string, unit: string): void {
  if (hasSystemdAnalyze) {
    const r = spawnSync('systemd-analyze', ['verify', path], { encoding: 'utf8' })
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    return
  }
  const s = settings(unit)
  const exec = s.get('ExecStart')?.[0] ?? ''
  expect(exec.startsWith('/')).toBe(true)
  expect([...s.keys()].every((k) => /^[A-Z][A-Za-z]+$/.test(k))).toBe(true)
}

describe('scanner-tunnel unit', () => {
  it('prints a unit that systemd-analyze verify accepts, with the token from an EnvironmentFile', async () => {
    const logDir = join(dir, 'logs')
    mkdirSync(logDir)
    const config = join(dir, 'scanner-tunnel.yaml')
    writeFileSync(config, `tunnel:\n  gracePeriodMs: 20000\nlog:\n  dir: ${logDir}\n`)
    const envFile = join(dir, 'tunnel.env')
    writeFileSync(envFile, 'TUNNEL_TOKEN=not-a-real-token\n', { mode: 0o600 })
    const r = await runCli([
      'unit',
      '--config',
      config,
      '--env-file',
      envFile,
      '--user',
      'scanner-tunnel',
      '--cli',
      cliPath,
    ])
    expect(r.code).toBe(0)
    const unit = r.stdout
    const s = settings(unit)
    expect(s.get('Type')).toEqual(['simple'])
    expect(s.get('ExecStart')).toEqual([`${process.execPath} ${cliPath} run --config ${config}`])
    expect(s.get('Restart')).toEqual(['on-failure'])
    expect(s.get('RestartSec')).toEqual(['5s'])
    expect(s.get('User')).toEqual(['scanner-tunnel'])
    expect(s.get('EnvironmentFile')).toEqual([envFile])
    expect(s.get('ReadWritePaths')).toEqual([logDir])
    expect(s.get('KillMode')).toEqual(['mixed'])
    // grace 20 s + 5 s supervisor margin + 10 s
    expect(s.get('TimeoutStopSec')).toEqual(['35s'])
    for (const key of [
      'NoNewPrivileges',
      'ProtectHome',
      'PrivateTmp',
      'ProtectKernelTunables',
      'ProtectControlGroups',
      'RestrictSUIDSGID',
      'LockPersonality',
    ]) {
      expect(s.get(key)).toEqual(['yes'])
    }
    expect(s.get('ProtectSystem')).toEqual(['strict'])
    expect(unit).not.toContain('not-a-real-token')
    expect(unit).not.toMatch(/--token/)
    const path = join(dir, 'scanner-tunnel.service')
    writeFileSync(path, unit)
    verify(path, unit)
  })

  it('loads the token with LoadCredential= and never puts it on ExecStart', async () => {
    const tokenFile = join(dir, 'tunnel-token')
    writeFileSync(tokenFile, 'not-a-real-token\n', { mode: 0o600 })
    const logDir = join(dir, 'logs2')
    mkdirSync(logDir)
    const r = await runInProcess(
      [
        'unit',
        '--credential',
        '--log-dir',
        logDir,
        '--cli',
        cliPath,
        '--installed-config',
        join(dir, 'c.yaml'),
      ],
      { SCANNER_TUNNEL_TUNNEL_TOKEN_FILE: tokenFile },
      dir,
    )
    expect(r.code).toBe(0)
    const s = settings(r.stdout)
    expect(s.get('LoadCredential')).toEqual([`tunnel-token:${tokenFile}`])
    expect(s.get('EnvironmentFile')).toBeUndefined()
    expect(s.get('DynamicUser')).toEqual(['yes'])
    expect(s.get('ExecStart')?.[0]).toBe(
      `${process.execPath} ${cliPath} run --config ${join(dir, 'c.yaml')} --log-dir ${logDir}`,
    )
    const path = join(dir, 'credential.service')
    writeFileSync(path, r.stdout)
    verify(path, r.stdout)
  })

  it('quotes ExecStart words and escapes specifiers', () => {
    const unit = renderUnit({
      node: '/usr/bin/node',
      cli: '/opt/my app/cli.js',
      configFile: '/etc/x%y.yaml',
      logDir: '/var/log/scanner-tunnel',
      stopTimeoutS: 45,
    })
    expect(unit).toContain(
      'ExecStart=/usr/bin/node "/opt/my app/cli.js" run --config /etc/x%%y.yaml',
    )
    expect(unit).toContain('LogsDirectory=scanner-tunnel')
    expect(() =>
      renderUnit({
        node: '/n',
        cli: '/c',
        configFile: '/c',
        logDir: '/var/log/a b',
        stopTimeoutS: 1,
      }),
    ).toThrow('whitespace')
  })
})
