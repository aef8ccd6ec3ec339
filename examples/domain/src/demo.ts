import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BackoffOptions } from '@scanner/core'

/** One fault of the demo rotation. */
export interface DemoFault {
  readonly name: string
  /** What the person watching should expect. */
  readonly description: string
  /** Commands appended to the simulator's control file (see `bin/fake-cloudflared.mjs`). */
  readonly commands: readonly string[]
  /** Scenario index the simulator's next start uses (its start counter file). */
  readonly nextStart?: number
  /** Breaks the demo's loopback "system" resolver (see `startDemoDns()`) instead. */
  readonly dnsOutage?: boolean
}

/**
 * The faults the demo injects, in turn. The simulator runs the scenario list
 * `normal,dns-failure,normal` with a start counter, so setting the counter to 1 makes the next
 * start fail edge discovery (DNS) once.
 */
export const DEMO_FAULTS: readonly DemoFault[] = Object.freeze([
  {
    name: 'QUIC timeout burst',
    description:
      '3 "no recent network activity" incidents on one connection; at 3 the supervisor starts a replica and stops the old cloudflared once it is ready (make-before-break)',
    // All on connection 0: the edge keeps routing over the other connections meanwhile, so a
    // request fails only if the handover itself drops it.
    commands: ['quic 0', 'quic 0', 'quic 0'],
  },
  {
    name: 'crash',
    description:
      'cloudflared exits with code 1; nothing left to hand over, so it restarts with backoff',
    commands: ['crash 1'],
  },
  {
    name: 'lost connections',
    description:
      'every edge connection drops (/ready 503); once not ready for too long, a replica replaces it (make-before-break)',
    commands: ['lose all'],
  },
  {
    name: 'DNS failure',
    description: 'the resolver fails, cloudflared exits and its next start cannot find the edge',
    commands: ['dns-refresh', 'crash 1'],
    nextStart: 1,
  },
  {
    name: 'resolver outage',
    description:
      "the DNS monitor's system resolver (a loopback server of the demo) answers SERVFAIL while the fallback still answers",
    commands: [],
    dnsOutage: true,
  },
])

/**
 * Backoff of the demo's tunnel, suited to a fault every `intervalMs`: a run that lasted half
 * the interval resets it, and {@link startDemoFaults} injects a fault only after such a stable
 * run, so every restart waits at most `initialDelayMs` (0.5 s) however long the demo runs.
 * (The package default resets only after 120 s stable: with a fault every 8 s the delays grew
 * to 40 s.)
 *
 * @example
 * ```ts
 * createTunnel({ ...options, backoff: demoBackoff(8000) })
 * ```
 */
export function demoBackoff(intervalMs: number): Required<Omit<BackoffOptions, 'random'>> {
  return {
    initialDelayMs: 500,
    factor: 2,
    maxDelayMs: 4000,
    jitter: 'equal',
    resetAfterMs: Math.min(60_000, Math.max(500, Math.floor(intervalMs / 2))),
  }
}

/**
 * Ready connections a fault waits for: all of the simulator's (cloudflared's default of 4), so
 * `lose all` loses every one and the QUIC burst leaves three for the edge to route over.
 */
export const DEMO_CONNECTIONS = 4
/**
 * Longest wait for a fault's recovery before the next fault: a lost connection is noticed by
 * the supervisor's readiness poll, seconds later on a loaded machine.
 */
const RECOVERY_WAIT_MS = 60_000

/** Simulator scenario list of the demo: normal starts, one DNS failure when asked. */
export const DEMO_SCENARIOS = 'normal,dns-failure,normal'

/** Files through which the demo drives the simulator. */
export interface DemoSimulatorFiles {
  readonly dir: string
  readonly controlFile: string
  readonly counterFile: string
  /** Environment of the simulator process (`env` option of `createTunnel`). */
  readonly env: Readonly<Record<string, string>>
  /** Removes the files; idempotent. */
  remove(): void
}

/** Creates the control and counter files of a demo simulator, in a fresh temporary directory. */
export function createDemoSimulatorFiles(): DemoSimulatorFiles {
  const dir = mkdtempSync(join(tmpdir(), 'scanner-demo-'))
  const controlFile = join(dir, 'control')
  const counterFile = join(dir, 'starts')
  writeFileSync(controlFile, '')
  writeFileSync(counterFile, '2') // scenario index 2: normal (index 1, dns-failure, only when asked)
  return {
    dir,
    controlFile,
    counterFile,
    env: {
      FAKE_CLOUDFLARED_SCENARIO: DEMO_SCENARIOS,
      FAKE_CLOUDFLARED_COUNTER_FILE: counterFile,
      FAKE_CLOUDFLARED_CONTROL: controlFile,
      // Connections register about as fast as a real cloudflared's (1 s apart is real; quicker here).
      FAKE_CLOUDFLARED_CONN_INTERVAL_MS: '200',
    },
    remove: () => {
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/**
 * Injects one fault of {@link DEMO_FAULTS} every `intervalMs`, in turn, once the tunnel's
 * current cloudflared has been running for `stableMs` (by default the demo backoff's
 * `resetAfterMs`, so each fault meets a reset backoff) with all its connections ready, and
 * after another process recovered from the previous fault of cloudflared. The resolver outage
 * needs `dns`; without it that fault is skipped.
 * Returns a function that stops it.
 *
 * @example
 * ```ts
 * const stop = startDemoFaults({ files, tunnel, dns: demoDns, intervalMs: 8000, print: console.log })
 * ```
 */
export function startDemoFaults(options: {
  readonly files: DemoSimulatorFiles
  /**
   * The supervisor: its state, the current cloudflared's pid (a new pid starts a new run) and
   * its ready connections (a fault waits for all {@link DEMO_CONNECTIONS} of them).
   */
  readonly tunnel: {
    readonly state: string
    readonly pid?: number | undefined
    readonly readyConnections?: number
  }
  readonly intervalMs: number
  readonly print: (line: string) => void
  /** The demo's resolvers (`startDemoDns()`), for the resolver outage. */
  readonly dns?: { outage(): void }
  /** Running time the tunnel needs before the next fault, in ms. @default demoBackoff(intervalMs).resetAfterMs */
  readonly stableMs?: number
}): () => void {
  const faults = DEMO_FAULTS.filter(
    (fault) => fault.dnsOutage !== true || options.dns !== undefined,
  )
  const stableMs = options.stableMs ?? demoBackoff(options.intervalMs).resetAfterMs
  let next = 0
  let lastFaultAt = Date.now()
  let runningSince: number | undefined
  let runningPid: number | undefined
  // The pid a fault of cloudflared was injected into: the next fault waits until another
  // process took over (the fault's restart or handover), or for RECOVERY_WAIT_MS at most.
  let faultedPid: number | undefined
  const timer = setInterval(
    () => {
      const now = Date.now()
      if (options.tunnel.state !== 'running') {
        runningSince = undefined
        return
      }
      // A make-before-break handover keeps the state `running` but starts a new process, whose
      // backoff resets only after its own stable run.
      if (options.tunnel.pid !== runningPid) {
        runningPid = options.tunnel.pid
        runningSince = now
      }
      runningSince ??= now
      if (faultedPid !== undefined) {
        if (options.tunnel.pid === faultedPid && now - lastFaultAt < RECOVERY_WAIT_MS) return
        faultedPid = undefined
      }
      if (now - runningSince < stableMs || now - lastFaultAt < options.intervalMs) return
      if ((options.tunnel.readyConnections ?? DEMO_CONNECTIONS) < DEMO_CONNECTIONS) return
      const fault = faults[next % faults.length]
      if (fault === undefined) return
      next++
      lastFaultAt = now
      options.print(
        `>>> injecting fault ${String(((next - 1) % faults.length) + 1)}/${String(faults.length)}: ${fault.name} (${fault.description})`,
      )
      if (fault.dnsOutage === true) options.dns?.outage()
      if (fault.nextStart !== undefined) {
        writeFileSync(options.files.counterFile, String(fault.nextStart))
      }
      if (fault.commands.length > 0) {
        faultedPid = options.tunnel.pid
        appendFileSync(options.files.controlFile, fault.commands.map((c) => `${c}\n`).join(''))
      }
    },
    Math.min(250, options.intervalMs),
  )
  timer.unref()
  return () => {
    clearInterval(timer)
  }
}
