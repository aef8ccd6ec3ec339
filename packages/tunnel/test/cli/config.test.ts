import { spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig, resolveToken, splitCommand } from '../../src/cli/config.js'
import { configSchema, envName, flagName } from '../../src/cli/schema.js'
import { fakeCloudflaredToken } from '@scanner/tunnel/testing'
import { runCli, runInProcess, tempDir } from './helpers.js'

let dir: string
let cleanup: () => void
beforeAll(() => {
  ;({ dir, cleanup } = tempDir())
})
afterAll(() => {
  cleanup()
})

function file(name: string, text: string): string {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

describe('config schema', () => {
  it('derives env var and flag names from the key path', () => {
    expect(envName('tunnel.gracePeriodMs')).toBe('SCANNER_TUNNEL_TUNNEL_GRACE_PERIOD_MS')
    expect(flagName('tunnel.quicTimeouts.threshold')).toBe('--tunnel-quic-timeouts-threshold')
    expect(flagName('log.dir')).toBe('--log-dir')
    const flags = configSchema.map((k) => k.flag)
    expect(new Set(flags).size).toBe(flags.length)
  })

  it('fills every default without a file', async () => {
    const { config, file: f } = await loadConfig({ env: {}, cwd: dir })
    expect(f).toBeUndefined()
    expect(config.tunnel.protocol).toBe('auto')
    expect(config.tunnel.gracePeriodMs).toBe(30_000)
    expect(config.tunnel.quicTimeouts).toEqual({ threshold: 3, windowMs: 300_000 })
    expect(config.dns.fallbacks).toEqual(['1.1.1.1', '8.8.8.8'])
    expect(config.status.listen).toBe('127.0.0.1:8787')
    expect(config.origin.command).toBeUndefined()
  })

  it('reads YAML and JSON, with env vars over the file and flags over env vars', async () => {
    const yaml = file(
      'a.yaml',
      'tunnel:\n  protocol: quic\n  gracePeriodMs: 1000\norigin:\n  command: node server.js --name "my app"\n  env: { PORT: 8000 }\ndns:\n  names: [a.test]\n',
    )
    const env = {
      SCANNER_TUNNEL_TUNNEL_PROTOCOL: 'http2',
      SCANNER_TUNNEL_DNS_NAMES: 'b.test, c.test',
    }
    const { config } = await loadConfig({ file: yaml, env, cwd: dir })
    expect(config.tunnel.protocol).toBe('http2')
    expect(config.tunnel.gracePeriodMs).toBe(1000)
    expect(config.origin.command).toEqual(['node', 'server.js', '--name', 'my app'])
    expect(config.origin.env).toEqual({ PORT: '8000' })
    expect(config.dns.names).toEqual(['b.test', 'c.test'])
    const flagged = await loadConfig({
      file: yaml,
      env,
      cwd: dir,
      flags: { 'tunnel-protocol': 'auto', 'dns-enabled': false, 'origin-env': ['A=1', 'B=x=y'] },
    })
    expect(flagged.config.tunnel.protocol).toBe('auto')
    expect(flagged.config.dns.enabled).toBe(false)
    expect(flagged.config.origin.env).toEqual({ A: '1', B: 'x=y' })
    const json = file('b.json', JSON.stringify({ log: { level: 'debug', dir: 'logs' } }))
    const fromJson = await loadConfig({ file: json, env: {}, cwd: '/' })
    expect(fromJson.config.log).toEqual({
      level: 'debug',
      dir: join(dir, 'logs'),
      originFile: 'origin.log',
    })
  })

  it('names the key, the value and what was expected', async () => {
    const bad = file('bad.yaml', 'tunnel:\n  protocol: udp\n')
    await expect(loadConfig({ file: bad, env: {}, cwd: dir })).rejects.toThrow(
      `Invalid config "tunnel.protocol": expected one of "auto", "quic", "http2", got "udp" (in ${bad})`,
    )
    const typo = file('typo.yaml', 'tunel:\n  protocol: quic\n')
    await expect(loadConfig({ file: typo, env: {}, cwd: dir })).rejects.toThrow(
      `Unknown config key "tunel" in ${typo} (did you mean "tunnel"?)`,
    )
    const nested = file('nested.yaml', 'tunnel:\n  gracePeriodMS: 5\n')
    await expect(loadConfig({ file: nested, env: {}, cwd: dir })).rejects.toThrow(
      'Unknown config key "tunnel.gracePeriodMS" in',
    )
    await expect(
      loadConfig({ env: { SCANNER_TUNNEL_TUNNEL_GRACE_PERIOD_MS: '30s' }, cwd: dir }),
    ).rejects.toThrow(
      'Invalid config "tunnel.gracePeriodMs": expected an integer between 0 and 180000, got "30s" (from SCANNER_TUNNEL_TUNNEL_GRACE_PERIOD_MS)',
    )
    await expect(
      loadConfig({ env: {}, cwd: dir, flags: { 'status-listen': '0.0.0.0:8787' } }),
    ).rejects.toThrow('Invalid config "status.listen"')
    await expect(loadConfig({ env: { SCANNER_TUNNEL_TUNEL_URL: 'x' }, cwd: dir })).rejects.toThrow(
      'Unknown environment variable SCANNER_TUNNEL_TUNEL_URL (did you mean SCANNER_TUNNEL_TUNNEL_URL?)',
    )
    await expect(
      loadConfig({ env: {}, cwd: dir, flags: { 'dns-recovery': ['use-fallbacks,reboot'] } }),
    ).rejects.toThrow(
      'Invalid config "dns.recovery": expected a list of "flush-systemd-resolved", "use-fallbacks", got "reboot" (from --dns-recovery)',
    )
    const tokenInFile = file('token.yaml', 'tunnel:\n  token: abc\n')
    await expect(loadConfig({ file: tokenInFile, env: {}, cwd: dir })).rejects.toThrow(
      'Config key "tunnel.token"',
    )
    await expect(
      loadConfig({ env: {}, cwd: dir, flags: { 'tunnel-args': ['--token=abc'] } }),
    ).rejects.toThrow('Invalid config "tunnel.args"')
  })

  it('finds the token in TUNNEL_TOKEN, the credentials directory, then tunnel.tokenFile', async () => {
    const tokenFile = file('token', '  secret-from-file\n')
    const creds = join(dir, 'creds')
    mkdirSync(creds, { recursive: true })
    writeFileSync(join(creds, 'tunnel-token'), 'secret-from-credential\n')
    const { config } = await loadConfig({
      env: {},
      cwd: dir,
      flags: { 'tunnel-token-file': tokenFile },
    })
    expect(await resolveToken(config, {})).toEqual({
      token: 'secret-from-file',
      source: 'tunnel.tokenFile',
    })
    expect(await resolveToken(config, { CREDENTIALS_DIRECTORY: creds })).toEqual({
      token: 'secret-from-credential',
      source: 'credential',
    })
    expect(
      await resolveToken(config, { TUNNEL_TOKEN: 'env', CREDENTIALS_DIRECTORY: creds }),
    ).toEqual({
      token: 'env',
      source: 'TUNNEL_TOKEN',
    })
    const quick = await loadConfig({
      env: {},
      cwd: dir,
      flags: { 'tunnel-url': 'http://127.0.0.1:1' },
    })
    expect(await resolveToken(quick.config, {})).toEqual({ token: undefined, source: undefined })
  })

  it('splits command strings like a shell, without one', () => {
    expect(
      splitCommand(`python3 -m http.server --bind '127.0.0.1' "a \\"b\\"" c\\ d $HOME`),
    ).toEqual(['python3', '-m', 'http.server', '--bind', '127.0.0.1', 'a "b"', 'c d', '$HOME'])
    expect(() => splitCommand('echo "open')).toThrow('unterminated')
  })
})

describe('invalid configs stop start-up (real processes)', () => {
  it('rejects an unknown key with a suggestion', async () => {
    const typo = file('run-typo.yaml', 'tunel:\n  url: http://127.0.0.1:8000\n')
    const r = await runCli(['run', '--config', typo])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`Unknown config key "tunel" in ${typo} (did you mean "tunnel"?)`)
  })

  it('rejects a value of the wrong type', async () => {
    const bad = file(
      'run-type.yaml',
      'tunnel:\n  url: http://127.0.0.1:8000\n  gracePeriodMs: "thirty"\n',
    )
    const r = await runCli(['run', '--config', bad])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(
      'Invalid config "tunnel.gracePeriodMs": expected an integer between 0 and 180000, got "thirty"',
    )
  })

  it('rejects a named tunnel without a token', async () => {
    const named = file('run-named.yaml', 'tunnel:\n  protocol: quic\n')
    const r = await runCli(['run', '--config', named])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('Missing tunnel token for a named tunnel')
    expect(r.stderr).toContain('"tunnel.tokenFile"')
  })

  it('rejects an unreadable token file', async () => {
    const missing = join(dir, 'no-such-token')
    const asDir = join(dir, 'token-dir')
    mkdirSync(asDir, { recursive: true })
    const locked = file('locked-token', 'secret\n')
    chmodSync(locked, 0o000)
    // Root reads a mode-000 file anyway: use a directory there.
    const unreadable = process.getuid?.() === 0 ? asDir : locked
    const r = await runCli(['run', '--tunnel-token-file', unreadable])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`Cannot read token file "tunnel.tokenFile" ${unreadable}`)
    for (const path of [missing, asDir]) {
      const inProcess = await runInProcess(['run', '--tunnel-token-file', path], {}, dir)
      expect(inProcess.code).toBe(2)
      expect(inProcess.stderr).toContain(`Cannot read token file "tunnel.tokenFile" ${path}`)
    }
  })

  it('refuses --token and explains why', async () => {
    const r = await runInProcess(['run', '--token', 'eyJhIjoiYiJ9'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('--token is not accepted')
    expect(r.stderr).toContain('TUNNEL_TOKEN')
    expect(r.stderr).not.toContain('eyJhIjoiYiJ9')
  })

  it('never echoes a token pasted where a path or a config file was expected', async () => {
    const token = fakeCloudflaredToken()
    const tokenAsConfig = file('pasted-token', `${token}\n`)
    const wrongPlace = file(
      'token-as-path.yaml',
      `tunnel:\n  tokenFile: ${token}\n  url: http://127.0.0.1:8000\n`,
    )
    const cases = [
      { args: ['run', '--config', tokenAsConfig], says: 'expected an object with sections' },
      { args: ['run', '--tunnel-token-file', token], says: 'Cannot read token file' },
      { args: ['run', '--config', wrongPlace], says: 'Cannot read token file' },
    ]
    for (const { args, says } of cases) {
      const r = await runInProcess(args, {}, dir)
      // The message still names what was wrong, without any token characters past "eyJ".
      expect(r.stderr + r.stdout).toContain(says)
      expect(r.stderr + r.stdout).not.toContain(token.slice(3, 24))
    }
  })
})

describe('usage', () => {
  it('prints --version and --help for every command', async () => {
    const version = await runInProcess(['--version'])
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/)
    for (const command of ['run', 'status', 'check', 'unit']) {
      const help = await runInProcess([command, '--help'])
      expect(help.code).toBe(0)
      expect(help.stdout).toContain(`Usage: scanner-tunnel ${command}`)
    }
    const runHelp = await runInProcess(['run', '--help'])
    for (const entry of configSchema) {
      expect(runHelp.stdout).toContain(entry.flag)
      expect(runHelp.stdout).toContain(entry.env)
    }
  })

  it('suggests the closest command and flag', async () => {
    expect(await runInProcess(['stauts'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('did you mean "status"'),
    })
    const r = await runInProcess(['check', '--tunnel-protocl', 'quic'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('did you mean --tunnel-protocol?')
  })
})

describe('the config file itself', () => {
  /** loadConfig's error message, or '' when it loaded. */
  async function loadError(path: string): Promise<string> {
    try {
      await loadConfig({ file: path, env: {}, cwd: dir })
      return ''
    } catch (error) {
      return (error as Error).message
    }
  }

  it('refuses a FIFO at once instead of hanging (and a directory, and a device)', async () => {
    const fifo = join(dir, 'config-fifo.yaml')
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0)
    expect(await loadError(fifo)).toBe(
      `Cannot read config file ${fifo}: it is a FIFO (named pipe); a regular file is required`,
    )
    const folder = join(dir, 'config-dir.yaml')
    mkdirSync(folder)
    expect(await loadError(folder)).toContain('it is a directory')
    expect(await loadError('/dev/zero')).toBe(
      'Cannot read config file /dev/zero: it is a device; a regular file is required',
    )
    // Through the real CLI too: exit 2 with the message, no hang.
    const r = await runCli(['run', '--config', fifo], { timeoutMs: 20_000 })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('FIFO')
    // A FIFO token file is refused the same way.
    await expect(
      resolveToken(
        (await loadConfig({ env: {}, cwd: dir, flags: { 'tunnel-token-file': fifo } })).config,
        {},
      ),
    ).rejects.toThrow('a regular file is required')
  })

  it('refuses a file past 1 MB with its size and the limit', async () => {
    const big = file(
      'big.yaml',
      `tunnel:\n  url: "http://127.0.0.1:8000"\n# ${'x'.repeat(1024 * 1024)}\n`,
    )
    expect(await loadError(big)).toMatch(
      /^Cannot read config file .*big\.yaml: it is 1048\d{3} bytes, more than the limit of 1 MB$/,
    )
    const fits = file(
      'fits.yaml',
      `tunnel:\n  url: "http://127.0.0.1:8000"\n# ${'x'.repeat(1000 * 1000)}\n`,
    )
    expect(await loadError(fits)).toBe('')
  })

  it('ends a YAML error with the offending line, not a dangling "column 1:"', async () => {
    const bad = file('bad.yaml', 'tunnel:\n  url: http://127.0.0.1:8000\n protocol: quic\n')
    const message = await loadError(bad)
    expect(message).toMatch(
      /^Cannot parse config file .*bad\.yaml: .+ at line 3, column \d+: " protocol: quic"$/,
    )
    expect(message).not.toMatch(/:$/)
  })
})
