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
  /**
   * The sandbox flags this run's real paths need: the checkout or Node.js itself may live under
   * /tmp, /home or /root (a clone in /tmp, `npx node@22` under /root/.npm).
   */
  function relaxFor(...paths: string[]): string[] {
    const under = (prefixes: string[]): boolean =>
      paths.some((p) => prefixes.some((x) => p === x || p.startsWith(`${x}/`)))
    return [
      ...(under(['/home', '/root', '/run/user']) ? ['--allow-home'] : []),
      ...(under(['/tmp', '/var/tmp']) ? ['--allow-tmp'] : []),
    ]
  }

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
      '--environment-file',
      envFile,
      '--user',
      'scanner-tunnel',
      '--cli',
      cliPath,
      // The test's files are under /tmp, which PrivateTmp=yes would hide.
      ...relaxFor(process.execPath, cliPath, dir),
    ])
    expect(r.code).toBe(0)
    const unit = r.stdout
    const s = settings(unit)
    expect(s.get('Type')).toEqual(['simple'])
    expect(s.get('ExecStart')).toEqual([`${process.execPath} ${cliPath} run --config ${config}`])
    expect(s.get('Restart')).toEqual(['on-failure'])
    expect(s.get('RestartSec')).toEqual(['5s'])
    expect(s.get('User')).toEqual(['scanner-tunnel'])
    expect(s.get('EnvironmentFile')).toEqual([`-${envFile}`])
    expect(s.get('PrivateTmp')).toEqual(['no'])
    expect(s.get('ReadWritePaths')).toEqual([logDir])
    expect(s.get('KillMode')).toEqual(['mixed'])
    // grace 20 s + 5 s supervisor margin + 10 s
    expect(s.get('TimeoutStopSec')).toEqual(['35s'])
    expect(s.get('ProtectHome')).toEqual([
      relaxFor(process.execPath, cliPath).includes('--allow-home') ? 'read-only' : 'yes',
    ])
    for (const key of [
      'NoNewPrivileges',
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
    const logDir = '/var/log/scanner-tunnel'
    const r = await runInProcess(
      [
        'unit',
        '--credential',
        '--log-dir',
        logDir,
        '--cli',
        cliPath,
        '--installed-config',
        '/etc/scanner-tunnel/c.yaml',
        ...relaxFor(process.execPath, cliPath),
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
      `${process.execPath} ${cliPath} run --config /etc/scanner-tunnel/c.yaml --log-dir ${logDir}`,
    )
    // Nothing relaxed: the credential is read by systemd itself, before the sandbox applies.
    const relax = relaxFor(process.execPath, cliPath)
    expect(s.get('ProtectHome')).toEqual([relax.includes('--allow-home') ? 'read-only' : 'yes'])
    expect(s.get('PrivateTmp')).toEqual([relax.includes('--allow-tmp') ? 'no' : 'yes'])
    const path = join(dir, 'credential.service')
    writeFileSync(path, r.stdout)
    verify(path, r.stdout)
  })

  const INJECT = 'ExecStartPre=/bin/sh -c id'
  const base = [
    '--cli',
    '/opt/scanner/cli.js',
    '--node',
    '/usr/bin/node',
    '--log-dir',
    '/var/log/st',
  ]
  it.each([
    ['--user', `scanner\n${INJECT}`],
    ['--user', `scanner\r${INJECT}`],
    ['--node', `/usr/bin/node\n${INJECT}`],
    ['--cli', `/opt/scanner/cli.js\n${INJECT}`],
    ['--installed-config', `/etc/st.yaml\n${INJECT}`],
    ['--log-dir', `/var/log/st\n${INJECT}`],
    ['--environment-file', `/etc/st.env\n${INJECT}`],
    ['--config', `/etc/st.yaml\t\n${INJECT}`],
  ])('refuses a control character in %s (no injected directive)', async (flag, value) => {
    const r = await runInProcess(['unit', ...base, flag, value], {}, dir)
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr).toContain(flag)
    expect(r.stderr).toContain('control character')
  })

  it.each([
    ['log.dir', 'log:\n  dir: ', [] as string[], 'The log directory'],
    ['tunnel.tokenFile', 'tunnel:\n  tokenFile: ', ['--credential'], 'The token file'],
  ])(
    'refuses a control character coming from the config file: %s',
    async (_, yaml, extra, what) => {
      const file = join(dir, `inject-${what.length}.yaml`)
      writeFileSync(file, `${yaml}${JSON.stringify(`/var/log/x\n${INJECT}`)}\n`)
      const r = await runInProcess(
        [
          'unit',
          '--cli',
          '/opt/scanner/cli.js',
          '--node',
          '/usr/bin/node',
          '--config',
          file,
          '--installed-config',
          '/etc/st.yaml',
          ...extra,
        ],
        { TUNNEL_TOKEN: 'x' },
        dir,
      )
      expect(r.code).toBe(2)
      expect(r.stdout).toBe('')
      expect(r.stderr).toContain(what)
      expect(r.stderr).toContain('control character')
    },
  )

  it('refuses a user name systemd would misread', async () => {
    for (const user of ['scanner tunnel', 'a;b', '-rf', 'x'.repeat(40)]) {
      const r = await runInProcess(['unit', ...base, '--user', user], {}, dir)
      expect(r.code).toBe(2)
      expect(r.stderr).toContain('--user')
    }
  })

  it.each([
    [
      '--cli',
      '/root/.npm/_npx/abc/node_modules/@scanner/tunnel/dist/cli.js',
      'ProtectHome=yes',
      '--allow-home',
      'ProtectHome',
      'read-only',
    ],
    [
      '--node',
      '/home/dev/.nvm/versions/node/v22.0.0/bin/node',
      'ProtectHome=yes',
      '--allow-home',
      'ProtectHome',
      'read-only',
    ],
    [
      '--cli',
      '/run/user/1000/cli.js',
      'ProtectHome=yes',
      '--allow-home',
      'ProtectHome',
      'read-only',
    ],
    ['--cli', '/tmp/scanner/cli.js', 'PrivateTmp=yes', '--allow-tmp', 'PrivateTmp', 'no'],
    ['--installed-config', '/var/tmp/st.yaml', 'PrivateTmp=yes', '--allow-tmp', 'PrivateTmp', 'no'],
    ['--log-dir', '/home/dev/logs', 'ProtectHome=yes', '--allow-home', 'ProtectHome', 'read-only'],
  ])(
    'refuses %s %s, which the unit hides, and names the flag that relaxes it',
    async (flag, path, setting, relax, key, relaxed) => {
      const r = await runInProcess(['unit', ...base, flag, path], {}, dir)
      expect(r.code).toBe(2)
      expect(r.stdout).toBe('')
      expect(r.stderr).toContain(path)
      expect(r.stderr).toContain(setting)
      expect(r.stderr).toContain(relax)
      const ok = await runInProcess(['unit', ...base, flag, path, relax], {}, dir)
      expect(ok.code).toBe(0)
      expect(settings(ok.stdout).get(key)).toEqual([relaxed])
    },
  )

  it('uses EnvironmentFile=- so a missing file is not an error, and no node --env-file', async () => {
    // A real process: Node.js itself reads a flag named --env-file anywhere on its command line
    // (even after the script) and exits 9 when the file does not exist, before the CLI runs.
    const r = await runCli(['unit', ...base, '--environment-file', '/etc/st/missing.env'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(settings(r.stdout).get('EnvironmentFile')).toEqual(['-/etc/st/missing.env'])
    expect(r.stdout).not.toContain('--env-file')
  })

  it('quotes spaces and escapes % and $ in ExecStart', async () => {
    const r = await runInProcess(
      [
        'unit',
        ...base,
        '--cli',
        '/opt/my app/100%/$HOME/cli.js',
        '--installed-config',
        '/etc/a%b.yaml',
      ],
      {},
      dir,
    )
    expect(r.code).toBe(0)
    expect(settings(r.stdout).get('ExecStart')).toEqual([
      '/usr/bin/node "/opt/my app/100%%/$$HOME/cli.js" run --config /etc/a%%b.yaml --log-dir /var/log/st',
    ])
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
