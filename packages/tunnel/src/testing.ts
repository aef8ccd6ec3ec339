/**
 * Test and demo helpers: a cloudflared simulator (`bin/fake-cloudflared.mjs`, node builtins
 * only) and helpers to configure it. Supervise it instead of a real cloudflared:
 * `createTunnel({ bin: fakeCloudflaredPath, token: fakeCloudflaredToken(), env: fakeCloudflaredEnv('quic-timeouts') })`.
 * Every knob is documented at the top of the simulator file.
 *
 * @module @scanner/tunnel/testing
 */
import { appendFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'

/**
 * Absolute path of the cloudflared simulator (executable, `#!/usr/bin/env node`).
 *
 * @example
 * ```ts
 * const tunnel = createTunnel({ bin: fakeCloudflaredPath, url: 'http://127.0.0.1:3000' })
 * ```
 */
export const fakeCloudflaredPath: string = fileURLToPath(
  new URL('../bin/fake-cloudflared.mjs', import.meta.url),
)

/** A fault scenario of the simulator (see the top of `bin/fake-cloudflared.mjs`). */
export type FakeCloudflaredScenario =
  | 'normal'
  | 'exit'
  | 'crash'
  | 'self-update'
  | 'quic-timeouts'
  | 'lost-connections'
  | 'dns-failure'
  | 'replay'
  | 'unauthorized'
  | 'never-ready'
  | 'flood'
  | 'garbage'
  | 'usage'
  | 'chaos'

/** A command for the simulator's control file (see {@link sendFakeCloudflaredCommand}). */
export type FakeCloudflaredCommand =
  | 'quic'
  | `quic ${number}`
  | 'lose'
  | `lose ${number | 'all'}`
  | 'restore'
  | 'crash'
  | `crash ${number}`
  | 'unauthorized'
  | 'dns-refresh'
  | 'origin-error'
  | `flood ${number}`
  | 'garbage'
  | 'self-update'

/** Knobs of the simulator; each becomes a `FAKE_CLOUDFLARED_*` variable. */
export interface FakeCloudflaredKnobs {
  /**
   * A file whose first line, when present, is the scenario of each new start (overrides the
   * scenario argument; write to it to change the world between starts).
   */
  readonly scenarioFile?: string
  /** Lines printed verbatim by `replay` (`{metrics}` becomes the metrics address). */
  readonly replayFile?: string
  /** Exit code of `exit`, `crash` and `replay`. @default 1 */
  readonly exitCode?: number
  /** Delay of `exit` and `dns-failure`, in ms. @default 100 */
  readonly exitAfterMs?: number
  /** Delay after ready of `crash`, `self-update`, `lost-connections`, in ms. @default 500 */
  readonly crashAfterMs?: number
  /** Interval of repeated faults, in ms. @default 100 (chaos: 5000) */
  readonly faultIntervalMs?: number
  /** Incidents printed by `quic-timeouts`. @default 3 */
  readonly quicIncidents?: number
  /** Reconnect delay of `lost-connections`, in ms. @default never */
  readonly reconnectAfterMs?: number
  /** Delay before connection 0 registers, in ms. @default 50 */
  readonly registerDelayMs?: number
  /** Delay between connections, in ms. @default 20 */
  readonly connIntervalMs?: number
  /** Connections of a named tunnel. @default 4 */
  readonly haConnections?: number
  /** Shutdown drain time with connections (capped by --grace-period), in ms. @default 0 */
  readonly drainMs?: number
  /** Never exit on SIGTERM/SIGINT. @default false */
  readonly ignoreSigterm?: boolean
  /** Spawn a helper that ignores SIGTERM. @default false */
  readonly grandchild?: boolean
  /** File receiving the helper's pid. */
  readonly grandchildPidFile?: string
  /** Size of `flood`, in bytes. @default 1073741824 */
  readonly floodBytes?: number
  /** Line size of `flood`, in bytes. @default 8192 */
  readonly floodLineBytes?: number
  /** Long line of `garbage`, in bytes. @default 2097152 */
  readonly garbageLineBytes?: number
  /** Print the token in a log line. @default false */
  readonly echoToken?: boolean
  /** File receiving `{argv, env, pid, ppid, cwd, scenario}` as JSON. */
  readonly record?: string
  /** Start counter file (for scenario lists). */
  readonly counterFile?: string
  /** Control file polled for commands. */
  readonly control?: string
  /** Faults of `chaos`, in order. @default ['quic','quic','quic','lose','restore','origin-error','dns-refresh'] */
  readonly faults?: readonly FakeCloudflaredCommand[]
  /** Version printed. @default '2026.8.2' */
  readonly version?: string
}

const KNOB_NAMES: Readonly<Record<keyof FakeCloudflaredKnobs, string>> = {
  scenarioFile: 'SCENARIO_FILE',
  replayFile: 'REPLAY_FILE',
  exitCode: 'EXIT_CODE',
  exitAfterMs: 'EXIT_AFTER_MS',
  crashAfterMs: 'CRASH_AFTER_MS',
  faultIntervalMs: 'FAULT_INTERVAL_MS',
  quicIncidents: 'QUIC_INCIDENTS',
  reconnectAfterMs: 'RECONNECT_AFTER_MS',
  registerDelayMs: 'REGISTER_DELAY_MS',
  connIntervalMs: 'CONN_INTERVAL_MS',
  haConnections: 'HA_CONNECTIONS',
  drainMs: 'DRAIN_MS',
  ignoreSigterm: 'IGNORE_SIGTERM',
  grandchild: 'GRANDCHILD',
  grandchildPidFile: 'GRANDCHILD_PID_FILE',
  floodBytes: 'FLOOD_BYTES',
  floodLineBytes: 'FLOOD_LINE_BYTES',
  garbageLineBytes: 'GARBAGE_LINE_BYTES',
  echoToken: 'ECHO_TOKEN',
  record: 'RECORD',
  counterFile: 'COUNTER_FILE',
  control: 'CONTROL',
  faults: 'FAULTS',
  version: 'VERSION',
}

/**
 * Environment variables selecting a simulator scenario (or one scenario per start, with
 * `counterFile`) and its knobs. Pass them as the tunnel's `env` option.
 *
 * @example
 * ```ts
 * createTunnel({
 *   bin: fakeCloudflaredPath,
 *   token: fakeCloudflaredToken(),
 *   env: fakeCloudflaredEnv('crash', { crashAfterMs: 200, exitCode: 1 }),
 * })
 * ```
 */
export function fakeCloudflaredEnv(
  scenario: FakeCloudflaredScenario | readonly FakeCloudflaredScenario[] = 'normal',
  knobs: FakeCloudflaredKnobs = {},
): Record<string, string> {
  const env: Record<string, string> = {
    FAKE_CLOUDFLARED_SCENARIO: typeof scenario === 'string' ? scenario : scenario.join(','),
  }
  for (const [key, value] of Object.entries(knobs) as [keyof FakeCloudflaredKnobs, unknown][]) {
    if (value === undefined) continue
    const name = `FAKE_CLOUDFLARED_${KNOB_NAMES[key]}`
    if (typeof value === 'boolean') env[name] = value ? '1' : '0'
    else if (Array.isArray(value)) env[name] = value.join(',')
    else if (typeof value === 'number' || typeof value === 'string') env[name] = String(value)
  }
  return env
}

/**
 * A well-formed (fake) named-tunnel token: base64 JSON `{a, t, s}` as cloudflared expects.
 *
 * @example
 * ```ts
 * const token = fakeCloudflaredToken({ secret: 'test-secret-123' })
 * ```
 */
export function fakeCloudflaredToken(
  options: { readonly account?: string; readonly tunnelId?: string; readonly secret?: string } = {},
): string {
  const body = {
    a: options.account ?? '699d98642c564d2e855e9661899b7252',
    t: options.tunnelId ?? '6ff42ae2-765d-4adf-8112-31c55c1551ef',
    s: options.secret ?? Buffer.from('fake-cloudflared-tunnel-secret-0001').toString('base64'),
  }
  return Buffer.from(JSON.stringify(body)).toString('base64')
}

/**
 * Appends a command to a running simulator's control file (`control` knob); it runs within
 * about 100 ms.
 *
 * @example
 * ```ts
 * await sendFakeCloudflaredCommand(controlFile, 'quic 0')
 * ```
 */
export async function sendFakeCloudflaredCommand(
  controlFile: string,
  command: FakeCloudflaredCommand,
): Promise<void> {
  await appendFile(controlFile, `${command}\n`)
}
