import { createProcessSupervisor, isTunnelError } from '@scanner/tunnel'
import type { ProcessRestartEvent, ProcessSupervisor, SupervisorState } from '@scanner/tunnel'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { alive, groupMembers, removeTempDirs, tempDir, waitFor } from './helpers.js'

const open: ProcessSupervisor[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.stop()))
  removeTempDirs()
})

function supervise(script: string, options: Parameters<typeof createProcessSupervisor>[0] = {}) {
  const sup = createProcessSupervisor({
    command: process.execPath,
    args: ['-e', script],
    pidFile: join(tempDir(), 'p.pid'),
    gracePeriodMs: 300,
    killMarginMs: 200,
    backoff: { initialDelayMs: 50, factor: 2, jitter: 'none' },
    minUptimeMs: 300,
    ...options,
  })
  open.push(sup)
  return sup
}

describe('createProcessSupervisor', () => {
  it('restarts with backoff and gives up on a crash loop', async () => {
    const sup = supervise("console.log('up'); process.exit(3)", {
      maxCrashes: 3,
      minUptimeMs: 10_000,
    })
    const restarts: ProcessRestartEvent[] = []
    sup.onRestart((e) => restarts.push(e))
    await sup.start()
    await waitFor(() => sup.state === 'failed', 10_000, 'failed')
    expect(restarts.map((r) => [r.reason, r.delayMs, r.exitCode])).toEqual([
      ['exit', 50, 3],
      ['exit', 100, 3],
    ])
    const status = sup.status()
    expect(status.failure?.reason).toBe('crash-loop')
    expect(status.lastLines).toContain('up')
    expect(status.starts).toBe(3)
  })

  it('becomes running after minUptimeMs, logs output with secrets removed, and stops the whole group', async () => {
    const states: SupervisorState[] = []
    const lines: string[] = []
    const sup = supervise(
      "const { spawn } = require('node:child_process'); spawn(process.execPath, ['-e', 'process.on(\"SIGTERM\",()=>{}); setInterval(()=>{},1000)'], { stdio: 'ignore' }); process.on('SIGTERM', () => {}); console.log('password=hunter2-secret'); setInterval(() => {}, 1000)",
      { secrets: ['hunter2-secret'] },
    )
    sup.onStateChange((e) => states.push(e.state))
    sup.on('line', (e) => lines.push(e.line))
    await sup.start()
    await waitFor(() => sup.state === 'running', 5000, 'running')
    const pid = sup.pid!
    await waitFor(() => groupMembers(pid).length === 2, 5000, 'grandchild')
    await waitFor(() => lines.length > 0, 5000, 'output')
    expect(lines).toEqual(['password=[REDACTED]'])
    await sup.stop()
    expect(groupMembers(pid)).toEqual([])
    expect(alive(pid)).toBe(false)
    expect(states).toEqual(['starting', 'running', 'stopping', 'stopped'])
  })

  it('lets a process end with restart "never" and restarts on manual request', async () => {
    const sup = supervise('setTimeout(() => process.exit(0), 400)', { restart: 'never' })
    await sup.start()
    const first = sup.pid
    expect(sup.restart()).toBe(true)
    await waitFor(() => sup.pid !== undefined && sup.pid !== first, 5000, 'manual restart')
    expect(sup.status().restarts.byReason.manual).toBe(1)
    await waitFor(() => sup.state === 'stopped', 5000, 'ended')
    expect(sup.status().lastExit?.exitCode).toBe(0)
  })

  it('fails at once when the command does not exist, and validates options', async () => {
    const sup = createProcessSupervisor({ command: join(tempDir(), 'nope'), pidFile: false })
    const error: unknown = await sup.start().catch((e: unknown) => e)
    expect(isTunnelError(error, 'ERR_TUNNEL_BIN_NOT_FOUND')).toBe(true)
    expect(sup.state).toBe('failed')
    expect(() => createProcessSupervisor({})).toThrow('"command"')
    expect(() => createProcessSupervisor({ command: 'x', restart: 'sometimes' as never })).toThrow(
      '"restart"',
    )
  })
})
