import { readdirSync, readFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseAllDocuments } from 'yaml'

// The paths @scanner/health serves (its default prefix `/health`, trailing slash included) and
// the deadline it answers within. This package does not depend on @scanner/health, so the
// values are written out here; keep them in step with packages/health.
const LIVE_PATH = '/health/live/'
const READY_PATH = '/health/ready/'
const HEALTH_DEADLINE_MS = 900

const dir = join(import.meta.dirname, '..', 'manifests')
const files = readdirSync(dir).filter((file) => /\.ya?ml$/.test(file))

interface Probe {
  httpGet: { path: string; port: string | number }
  timeoutSeconds: number
  periodSeconds: number
}
interface EnvVar {
  name: string
  value?: string
  valueFrom?: { secretKeyRef?: { name: string; key: string } }
}
interface Container {
  image: string
  args: string[]
  env: EnvVar[]
  ports: { name: string; containerPort: number }[]
  livenessProbe: Probe
  readinessProbe: Probe
  startupProbe: Probe
  lifecycle: { preStop: { exec: { command: string[] } } }
}
type Labels = Record<string, string>
interface Manifest {
  apiVersion: string
  kind: string
  metadata: { name: string; namespace?: string }
}
interface Deployment extends Manifest {
  spec: {
    replicas: number
    selector: { matchLabels: Labels }
    template: {
      metadata: { labels: Labels }
      spec: { terminationGracePeriodSeconds: number; containers: Container[] }
    }
  }
}
interface Pdb extends Manifest {
  spec: { minAvailable: number; selector: { matchLabels: Labels } }
}
interface Service extends Manifest {
  spec: { selector: Labels; ports: { targetPort: string | number }[] }
}
interface Secret extends Manifest {
  stringData: Record<string, string>
}
interface Kustomization extends Manifest {
  resources: string[]
}
interface Doc {
  readonly file: string
  readonly value: Manifest
}

const docs: Doc[] = files.flatMap((file) =>
  parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((document) => {
    if (document.errors.length > 0) {
      throw new Error(`${file}: ${document.errors.map((e) => e.message).join('; ')}`)
    }
    return { file, value: document.toJS() as Manifest }
  }),
)

function byKind<T extends Manifest>(kind: string): T[] {
  return docs.filter((d) => d.value.kind === kind).map((d) => d.value as T)
}
function deployment(name: string): Deployment {
  const found = byKind<Deployment>('Deployment').find((d) => d.metadata.name === name)
  expect(found, `Deployment ${name}`).toBeDefined()
  return found!
}
const container = (name: string): Container => deployment(name).spec.template.spec.containers[0]!
const envValue = (c: Container, name: string): string | undefined =>
  c.env.find((e) => e.name === name)?.value

function matches(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([key, value]) => labels[key] === value)
}

/** Resolves a probe's port (a name or a number) to the container port number. */
function probePort(c: Container, port: string | number): number {
  if (typeof port === 'number') return port
  const found = c.ports.find((p) => p.name === port)
  expect(found, `container port named ${port}`).toBeDefined()
  return found!.containerPort
}

function walk(
  value: unknown,
  visit: (value: unknown, key: string | undefined) => void,
  key?: string,
): void {
  visit(value, key)
  if (Array.isArray(value)) for (const item of value) walk(item, visit)
  else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) walk(v, visit, k)
  }
}

describe('kubernetes manifests', () => {
  it('parse, and every document has an apiVersion and a kind', () => {
    expect(files.length).toBeGreaterThanOrEqual(4)
    for (const { file, value } of docs) {
      expect(typeof value.apiVersion, file).toBe('string')
      expect(typeof value.kind, file).toBe('string')
    }
    expect(docs.map((d) => d.value.kind).sort()).toEqual([
      'Deployment',
      'Deployment',
      'Kustomization',
      'Namespace',
      'PodDisruptionBudget',
      'PodDisruptionBudget',
      'Secret',
      'Service',
    ])
  })

  it('put every namespaced object in the scanner namespace', () => {
    for (const { value } of docs) {
      if (value.kind === 'Namespace' || value.kind === 'Kustomization') continue
      expect(value.metadata.namespace, `${value.kind} ${value.metadata.name}`).toBe('scanner')
    }
  })

  it('probe the scanner API on the real health paths, within the health deadline', () => {
    const api = container('scanner-api')
    expect(api.livenessProbe.httpGet.path).toBe(LIVE_PATH)
    expect(api.readinessProbe.httpGet.path).toBe(READY_PATH)
    expect(api.startupProbe.httpGet.path).toBe(LIVE_PATH)
    const port = Number(envValue(api, 'PORT'))
    for (const probe of [api.livenessProbe, api.readinessProbe, api.startupProbe]) {
      expect(probePort(api, probe.httpGet.port)).toBe(port)
      expect(probe.timeoutSeconds * 1000).toBeGreaterThan(HEALTH_DEADLINE_MS)
      expect(probe.periodSeconds).toBeGreaterThanOrEqual(probe.timeoutSeconds)
    }
    expect(envValue(api, 'TUNNEL')).toBe('off')
  })

  it('give the API time to drain readiness before it is killed', () => {
    const spec = deployment('scanner-api').spec.template.spec
    const api = spec.containers[0]!
    const [, seconds] = api.lifecycle.preStop.exec.command
    const env = (name: string): number => Number(envValue(api, name))
    expect(env('DRAIN_DELAY_MS')).toBeGreaterThan(0)
    expect(env('DRAIN_DELAY_MS')).toBeLessThan(env('SHUTDOWN_TIMEOUT_MS'))
    expect(Number(seconds) + env('SHUTDOWN_TIMEOUT_MS') / 1000).toBeLessThan(
      spec.terminationGracePeriodSeconds,
    )
  })

  it('run cloudflared as replicas with its metrics server probed on /ready', () => {
    const spec = deployment('cloudflared').spec
    expect(spec.replicas).toBeGreaterThanOrEqual(2)
    const c = spec.template.spec.containers[0]!
    expect(c.args).toEqual(['tunnel', '--no-autoupdate', '--metrics', '0.0.0.0:2000', 'run'])
    expect(c.image).toMatch(/^cloudflare\/cloudflared:\d{4}\.\d+\.\d+$/)
    for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
      expect(probe.httpGet.path).toBe('/ready')
      expect(probePort(c, probe.httpGet.port)).toBe(2000)
    }
    // Longer than cloudflared's default 30 s --grace-period.
    expect(spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(30)
  })

  it('reference the tunnel token only from a Secret', () => {
    const secret = byKind<Secret>('Secret').find((s) => s.metadata.name === 'cloudflared-token')!
    expect(secret).toBeDefined()
    expect(secret.stringData.token).toMatch(/^REPLACE_WITH_/)
    const c = container('cloudflared')
    const tokenEnv = c.env.find((e) => e.name === 'TUNNEL_TOKEN')!
    expect(tokenEnv.value).toBeUndefined()
    expect(tokenEnv.valueFrom?.secretKeyRef).toEqual({ name: 'cloudflared-token', key: 'token' })
    expect(Object.keys(secret.stringData)).toContain(tokenEnv.valueFrom?.secretKeyRef?.key)
    for (const { value } of docs) {
      walk(value, (node, key) => {
        if (typeof node === 'string') {
          expect(node).not.toMatch(/--token|eyJ[A-Za-z0-9_-]{20,}/) // no flag, no real token
        }
        if (key === 'env' && Array.isArray(node)) {
          for (const e of node as EnvVar[]) {
            if (/TOKEN/i.test(e.name)) expect(e.valueFrom?.secretKeyRef, e.name).toBeDefined()
          }
        }
      })
    }
    const kustomization = byKind<Kustomization>('Kustomization')[0]!
    expect(kustomization.resources).not.toContain('cloudflared-secret.example.yaml')
    for (const resource of kustomization.resources)
      expect(existsSync(join(dir, resource))).toBe(true)
  })

  it('select each Deployment with a PodDisruptionBudget that leaves room for a disruption', () => {
    for (const name of ['scanner-api', 'cloudflared']) {
      const d = deployment(name)
      const labels = d.spec.template.metadata.labels
      expect(matches(d.spec.selector.matchLabels, labels)).toBe(true)
      const pdbs = byKind<Pdb>('PodDisruptionBudget').filter((p) =>
        matches(p.spec.selector.matchLabels, labels),
      )
      expect(pdbs, `PDB for ${name}`).toHaveLength(1)
      expect(pdbs[0]!.spec.minAvailable).toBeLessThan(d.spec.replicas)
    }
  })

  it('scrape metrics from the operator port, which no Service (so no tunnel) routes to', () => {
    const api = container('scanner-api')
    const template = deployment('scanner-api').spec.template as {
      metadata: { annotations?: Record<string, string> }
    }
    const annotations = template.metadata.annotations ?? {}
    expect(annotations['prometheus.io/scrape']).toBe('true')
    expect(annotations['prometheus.io/path']).toBe('/metrics')
    const adminPort = Number(envValue(api, 'ADMIN_PORT'))
    expect(Number(annotations['prometheus.io/port'])).toBe(adminPort)
    expect(adminPort).not.toBe(Number(envValue(api, 'PORT')))
    expect(api.ports.map((p) => p.containerPort)).toContain(adminPort)
    const admin = api.ports.find((p) => p.containerPort === adminPort)!
    for (const service of byKind<Service>('Service')) {
      for (const port of service.spec.ports) {
        expect([admin.name, adminPort]).not.toContain(port.targetPort)
      }
    }
  })

  it('route the Service to the API pods on their named port', () => {
    const service = byKind<Service>('Service')[0]!
    const api = deployment('scanner-api')
    expect(matches(service.spec.selector, api.spec.template.metadata.labels)).toBe(true)
    const target = service.spec.ports[0]!.targetPort
    expect(container('scanner-api').ports.map((p) => p.name)).toContain(target)
  })
})
