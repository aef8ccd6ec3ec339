// Runs inside the scratch project that installed the packed tarballs with npm (see run.mjs),
// under whichever Node runs it (20, 22 or 24). Every entry point of every package is loaded with
// `import` and with `require`, and the cloudflared simulator is supervised until ready, once
// from ESM and once from CommonJS. Prints one line per check; exits non-zero on the first failure.
import { statSync } from 'node:fs'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const specs = JSON.parse(process.argv[2] ?? '[]')
if (!Array.isArray(specs) || specs.length === 0) throw new Error('usage: consumer.mjs <specs-json>')

for (const spec of specs) {
  const esm = await import(spec)
  const cjs = require(spec)
  const names = Object.keys(esm).filter((name) => name !== 'default')
  if (names.length === 0) throw new Error(`import('${spec}') has no exports`)
  const missing = names.filter((name) => !(name in cjs))
  if (missing.length > 0) throw new Error(`require('${spec}') lacks ${missing.join(', ')}`)
  console.log(`${process.version} import+require ${spec}: ${names.length} exports`)
}

// The simulator from the installed package: no reliance on the tarball's mode bits.
async function simulate(label, tunnelModule, testing) {
  const { fakeCloudflaredEnv, fakeCloudflaredPath, fakeCloudflaredToken } = testing
  if (!fakeCloudflaredPath.includes('node_modules')) {
    throw new Error(
      `${label}: fakeCloudflaredPath is not inside node_modules: ${fakeCloudflaredPath}`,
    )
  }
  const mode = statSync(fakeCloudflaredPath).mode
  const tunnel = tunnelModule.createTunnel({
    bin: fakeCloudflaredPath,
    token: fakeCloudflaredToken(),
    env: fakeCloudflaredEnv('normal'),
  })
  try {
    await tunnel.start()
    const status = await tunnel.waitForReady({ timeoutMs: 60_000 })
    if (!status.ready) throw new Error(`${label}: waitForReady resolved without a ready tunnel`)
    console.log(
      `${process.version} simulator from ${label}: ready, ${status.readyConnections} connections (file mode ${(mode & 0o777).toString(8)})`,
    )
  } finally {
    await tunnel.stop()
  }
}
await simulate('ESM', await import('@scanner/tunnel'), await import('@scanner/tunnel/testing'))
await simulate('CommonJS', require('@scanner/tunnel'), require('@scanner/tunnel/testing'))
