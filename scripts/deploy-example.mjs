// Builds one example API for production and deploys it with its production dependencies into
// a self-contained directory: what examples/Dockerfile does inside its build stage.
//
//   node scripts/deploy-example.mjs <express-api|fastify-api|hono-api> <target-dir>
//
// 1. Bundles examples/<app>/src/server.ts with esbuild into <target>/dist/server.js, inlining
//    the workspace-private @scanner-examples/domain (TypeScript source, never published) and
//    leaving every other package external: they load from node_modules as built JavaScript
//    (`@scanner/*` from their dist/, so run `pnpm build` first).
// 2. `pnpm --filter <app> --prod deploy --legacy <target>`: the app's production dependencies,
//    with the hoisted node-linker so that the packages the domain code imports (sql.js,
//    pino-pretty, prom-client, @scanner/tunnel...) resolve from <target>/node_modules too.
//
// Start the result with `node dist/server.js` (no tsx, no source condition).
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '..')
const [app, targetArg] = process.argv.slice(2)
const apps = ['express-api', 'fastify-api', 'hono-api']
if (!apps.includes(app ?? '') || !targetArg) {
  console.error(`usage: node scripts/deploy-example.mjs <${apps.join('|')}> <target-dir>`)
  process.exit(2)
}
const target = resolve(targetArg)
const appDir = join(root, 'examples', app)
const pkg = JSON.parse(readFileSync(join(appDir, 'package.json'), 'utf8'))
for (const dir of ['core', 'health', 'circuit-breaker', 'tunnel']) {
  if (!existsSync(join(root, 'packages', dir, 'dist'))) {
    console.error(`packages/${dir}/dist is missing: run \`npx -y pnpm@10 build\` first`)
    process.exit(1)
  }
}

// 2 first: deploy empties the target directory.
rmSync(target, { recursive: true, force: true })
execFileSync(
  'npx',
  [
    '-y',
    'pnpm@10',
    '--filter',
    pkg.name,
    '--prod',
    '--config.node-linker=hoisted',
    'deploy',
    '--legacy',
    target,
  ],
  { cwd: root, stdio: 'inherit' },
)

// 1. The bundle of the app and the domain code.
const esbuild = createRequire(createRequire(join(root, 'package.json')).resolve('tsup'))('esbuild')
mkdirSync(join(target, 'dist'), { recursive: true })
await esbuild.build({
  entryPoints: [join(appDir, 'src/server.ts')],
  outfile: join(target, 'dist/server.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  plugins: [
    {
      name: 'external-packages',
      setup(build) {
        // Every bare specifier but the examples' own workspace code stays an import.
        build.onResolve({ filter: /^[^./]/ }, (args) =>
          args.path.startsWith('@scanner-examples/')
            ? undefined
            : { path: args.path, external: true },
        )
      },
    },
  ],
})
// The deployed package runs built JavaScript: its start script says so.
const deployed = JSON.parse(readFileSync(join(target, 'package.json'), 'utf8'))
deployed.scripts = { start: 'node dist/server.js' }
writeFileSync(join(target, 'package.json'), `${JSON.stringify(deployed, null, 2)}\n`)
console.log(`deployed ${pkg.name} to ${target}: start with \`node dist/server.js\``)
