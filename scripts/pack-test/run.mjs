// The published shape, tested: packs the four packages as `changeset publish` would (pnpm's
// packer, after `pnpm build`), installs the tarballs with npm into scratch projects outside the
// workspace, and checks what a user gets:
//
//   tarballs   LICENSE, dist, no `workspace:` ranges, both bins executable;
//   runtime    every entry point under `import` and `require`, and the cloudflared simulator
//              supervised until ready from ESM and from CommonJS, on Node 20, 22 and 24;
//   types      strict TypeScript with skipLibCheck false: an ESM project under node16, nodenext
//              and bundler, and a `"type": "commonjs"` project under node16 and nodenext;
//   READMEs    every ts/js block of the READMEs compiles in the ESM project (three resolutions),
//              and the blocks marked `<!-- run -->` run (see readme-blocks.mjs);
//   Express 4  health and circuit-breaker install next to express@4 and @types/express@4 (no
//              ERESOLVE), compile, and serve on loopback.
//
// Usage: node scripts/pack-test/run.mjs (after `pnpm build`). Needs the npm registry for the
// third-party dependencies and `npx -y node@22` / `node@24`. PACK_TEST_KEEP=1 keeps the scratch
// directory; PACK_TEST_NODES=20,22 picks Node majors.
import { spawn, spawnSync } from 'node:child_process'
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import {
  blockFile,
  blockPath,
  freeNames,
  parseDiagnostics,
  readBlocks,
  toleratedInFragment,
} from './readme-blocks.mjs'

const root = resolve(import.meta.dirname, '../..')
const here = import.meta.dirname
const work = mkdtempSync(join(tmpdir(), 'scanner-pack-test-'))
const nodes = (process.env.PACK_TEST_NODES ?? '20,22,24').split(',').map((v) => v.trim())
const started = Date.now()
let failures = 0

function log(message) {
  console.log(`[pack-test ${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${message}`)
}

/** Runs a command; returns its output, or throws with the output when it fails. */
function run(command, args, options = {}) {
  const result = spawnSync(command, args, {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: options.timeoutMs ?? 300_000,
    ...options,
  })
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`
  if (result.status !== 0) {
    const error = new Error(
      `${command} ${args.join(' ')} exited ${result.status ?? result.signal}\n${output}`,
    )
    error.output = output
    throw error
  }
  return output
}

function check(name, fn) {
  try {
    fn()
    log(`ok: ${name}`)
  } catch (error) {
    failures++
    log(`FAILED: ${name}\n${error instanceof Error ? error.message : String(error)}`)
  }
}

function writeJson(file, value) {
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`)
}

const packages = readdirSync(join(root, 'packages')).map((dir) => {
  const pkg = JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8'))
  const specs = Object.keys(pkg.exports)
    .filter((key) => key !== './package.json')
    .map((key) => (key === '.' ? pkg.name : `${pkg.name}/${key.slice(2)}`))
  return { dir, pkg, specs }
})
const specs = packages.flatMap((p) => p.specs)
const npm = ['--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error']

try {
  // 1. Pack with pnpm's packer (the one `changeset publish` uses).
  for (const { dir } of packages) {
    if (!existsSync(join(root, 'packages', dir, 'dist'))) {
      throw new Error(`packages/${dir}/dist is missing: run \`npx -y pnpm@10 build\` first`)
    }
  }
  const tarballs = join(work, 'tarballs')
  mkdirSync(tarballs)
  run(
    'npx',
    ['-y', 'pnpm@10', '-r', '--filter', './packages/**', 'pack', '--pack-destination', tarballs],
    {
      cwd: root,
    },
  )
  const tgz = Object.fromEntries(
    packages.map(({ pkg }) => {
      const file = join(
        tarballs,
        `${pkg.name.replace('@', '').replace('/', '-')}-${pkg.version}.tgz`,
      )
      if (!existsSync(file)) throw new Error(`no tarball for ${pkg.name}: ${readdirSync(tarballs)}`)
      return [pkg.name, file]
    }),
  )
  log(`packed ${Object.keys(tgz).length} tarballs`)

  // 2. What is in the tarballs.
  for (const { pkg } of packages) {
    check(`tarball ${pkg.name}`, () => {
      const listing = run('tar', ['tvzf', tgz[pkg.name]])
      const entry = (path) => listing.split('\n').find((line) => line.endsWith(` package/${path}`))
      for (const path of [
        'LICENSE',
        'README.md',
        'package.json',
        'dist/index.js',
        'dist/index.cjs',
      ]) {
        if (!entry(path)) throw new Error(`${path} missing`)
      }
      for (const file of Object.values(pkg.bin ?? {})) {
        const line = entry(file.replace(/^\.\//, ''))
        if (!line?.startsWith('-rwxr-xr-x')) throw new Error(`bin ${file} not executable: ${line}`)
      }
      const manifest = run('tar', ['xzOf', tgz[pkg.name], 'package/package.json'])
      if (manifest.includes('workspace:')) throw new Error('package.json keeps a workspace: range')
    })
  }

  // 3. One npm install of every tarball and the frameworks, shared by the projects below.
  const app = join(work, 'app')
  mkdirSync(app)
  writeJson(join(app, 'package.json'), { name: 'pack-test-app', private: true })
  const typescript = JSON.parse(
    readFileSync(join(root, 'node_modules/typescript/package.json'), 'utf8'),
  )
  log('npm install (tarballs, express 5, fastify 5, hono 4, @hono/node-server 2, typescript)')
  run(
    'npm',
    [
      'install',
      ...npm,
      ...Object.values(tgz),
      'express@^5',
      '@types/express@^5',
      'fastify@^5',
      'hono@^4',
      '@hono/node-server@^2',
      'prom-client@^15',
      `typescript@${typescript.version}`,
      '@types/node@^20.19',
    ],
    { cwd: app },
  )

  // 4. Runtime: import and require of every entry point, the simulator, on each Node major.
  copyFileSync(join(here, 'consumer.mjs'), join(app, 'consumer.mjs'))
  for (const major of nodes) {
    check(`runtime on Node ${major}`, () => {
      const node =
        process.versions.node.split('.')[0] === major
          ? [process.execPath]
          : ['npx', '-y', `node@${major}`]
      const out = run(node[0], [...node.slice(1), 'consumer.mjs', JSON.stringify(specs)], {
        cwd: app,
        timeoutMs: 240_000,
      })
      process.stdout.write(out)
      if (!out.includes('simulator from CommonJS: ready'))
        throw new Error('simulator check missing')
    })
  }

  // 5. Types: ESM and CommonJS projects, strict, skipLibCheck false.
  const tsc = join(app, 'node_modules/typescript/bin/tsc')
  const entries = specs
    .map((spec, i) => `import * as m${i} from '${spec}'`)
    .concat([`export const modules = [${specs.map((_, i) => `m${i}`).join(', ')}]`])
    .join('\n')
  const strict = {
    strict: true,
    skipLibCheck: false,
    noEmit: true,
    target: 'ES2022',
    lib: ['ES2023'],
    types: ['node'],
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: false,
  }
  const resolutions = {
    node16: { module: 'node16', moduleResolution: 'node16' },
    nodenext: { module: 'nodenext', moduleResolution: 'nodenext' },
    bundler: { module: 'preserve', moduleResolution: 'bundler' },
  }

  const blocks = readBlocks(root, [
    join(root, 'README.md'),
    ...packages.map(({ dir }) => join(root, 'packages', dir, 'README.md')),
  ])
  const esmDir = join(app, 'esm-ts')
  const blockDir = join(esmDir, 'blocks')
  mkdirSync(blockDir, { recursive: true })
  writeJson(join(esmDir, 'package.json'), { type: 'module' })
  writeFileSync(join(esmDir, 'entries.ts'), `${entries}\n`)
  const compiled = blocks.filter((b) => b.mode !== 'not-code')
  for (const block of compiled) writeFileSync(blockPath(blockDir, block), blockFile(block))
  const tsconfig = (dir, name, options) => {
    writeJson(join(dir, `tsconfig.${name}.json`), {
      compilerOptions: { ...strict, ...options },
      include: ['*.ts', 'blocks/*.ts'],
    })
    return `tsconfig.${name}.json`
  }
  const compile = (dir, config) =>
    new Promise((done) => {
      const child = spawn(process.execPath, [tsc, '-p', config, '--pretty', 'false'], { cwd: dir })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (chunk) => (stdout += chunk))
      child.stderr.on('data', (chunk) => (stderr += chunk))
      child.on('close', (status) => {
        done(
          parseDiagnostics(`${stdout}${stderr}`).concat(
            status !== 0 && !stdout.includes('error TS')
              ? [
                  {
                    file: config,
                    code: 0,
                    message: stderr,
                    text: `tsc exited ${status}: ${stderr}`,
                  },
                ]
              : [],
          ),
        )
      })
    })

  // First pass (nodenext): the names each fragment uses without defining.
  const first = await compile(esmDir, tsconfig(esmDir, 'nodenext', resolutions.nodenext))
  const fragmentNames = new Map()
  for (const block of compiled.filter((b) => b.mode === 'fragment')) {
    const names = freeNames(first.filter((d) => d.file === `blocks/${block.id}.ts`))
    fragmentNames.set(block.id, names)
    writeFileSync(blockPath(blockDir, block), blockFile(block, names))
  }
  log(
    `README blocks: ${blocks.length} (${compiled.filter((b) => b.mode === 'run').length} run, ${blocks.filter((b) => b.mode === 'not-code').length} not code); fragments' free names: ${[
      ...new Set([...fragmentNames.values()].flat()),
    ].join(', ')}`,
  )
  const fragments = new Set(
    compiled.filter((b) => b.mode === 'fragment').map((b) => `blocks/${b.id}.ts`),
  )
  const cjsDir = join(app, 'cjs-ts')
  mkdirSync(cjsDir)
  writeJson(join(cjsDir, 'package.json'), { type: 'commonjs' })
  writeFileSync(join(cjsDir, 'entries.ts'), `${entries}\n`)
  const sources = new Map(compiled.map((b) => [`blocks/${b.id}.ts`, b.source]))
  // The five programs compile side by side (tsc is single-threaded).
  const programs = [
    ...Object.entries(resolutions).map(([name, options]) => ({
      name: `types: ESM project, ${name}, entries and README blocks`,
      dir: esmDir,
      config: tsconfig(esmDir, name, options),
    })),
    ...['node16', 'nodenext'].map((name) => ({
      name: `types: CommonJS project, ${name}, every entry point`,
      dir: cjsDir,
      config: tsconfig(cjsDir, name, resolutions[name]),
    })),
  ]
  const results = new Map()
  const queue = [...programs]
  await Promise.all(
    Array.from({ length: Math.min(3, availableParallelism()) }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        results.set(next.name, await compile(next.dir, next.config))
      }
    }),
  )
  for (const { name, dir } of programs) {
    check(name, () => {
      const errors = results
        .get(name)
        .filter((d) => !(dir === esmDir && fragments.has(d.file) && toleratedInFragment(d)))
      if (errors.length > 0) {
        throw new Error(
          errors
            .map((d) => `${d.text}${sources.has(d.file) ? ` [${sources.get(d.file)}]` : ''}`)
            .join('\n'),
        )
      }
    })
  }

  // 6. README blocks marked `<!-- run -->`: emitted by tsc, run by node.
  const runnable = compiled.filter((b) => b.mode === 'run')
  if (runnable.length > 0) {
    writeJson(join(esmDir, 'tsconfig.run.json'), {
      compilerOptions: { ...strict, ...resolutions.nodenext, noEmit: false, outDir: 'out' },
      files: runnable.map((b) => `blocks/${b.id}.ts`),
    })
    check(`README blocks: ${runnable.length} run`, () => {
      run(process.execPath, [tsc, '-p', 'tsconfig.run.json', '--pretty', 'false'], { cwd: esmDir })
      for (const block of runnable) {
        run(process.execPath, [join('out', `${block.id}.js`)], { cwd: esmDir, timeoutMs: 60_000 })
        log(`ran ${block.source}`)
      }
    })
  }

  // 7. Express 4: installs beside health and circuit-breaker, compiles, serves.
  const exp4 = join(work, 'express4')
  mkdirSync(exp4)
  writeJson(join(exp4, 'package.json'), {
    name: 'pack-test-express4',
    private: true,
    type: 'module',
  })
  check('Express 4: npm install, strict types, loopback requests', () => {
    run(
      'npm',
      [
        'install',
        ...npm,
        tgz['@scanner/core'],
        tgz['@scanner/health'],
        tgz['@scanner/circuit-breaker'],
        'express@^4.21',
        '@types/express@^4.17.21',
        `typescript@${typescript.version}`,
        '@types/node@^20.19',
      ],
      { cwd: exp4 },
    )
    copyFileSync(join(here, 'express4-app.ts.txt'), join(exp4, 'server.ts'))
    writeJson(join(exp4, 'tsconfig.json'), {
      compilerOptions: { ...strict, ...resolutions.nodenext, noEmit: false, outDir: 'out' },
      files: ['server.ts'],
    })
    run(
      process.execPath,
      [join(exp4, 'node_modules/typescript/bin/tsc'), '-p', '.', '--pretty', 'false'],
      {
        cwd: exp4,
      },
    )
    process.stdout.write(run(process.execPath, ['out/server.js'], { cwd: exp4, timeoutMs: 60_000 }))
  })
} catch (error) {
  failures++
  log(`FAILED: ${error instanceof Error ? error.message : String(error)}`)
} finally {
  if (process.env.PACK_TEST_KEEP) log(`kept ${work}`)
  else rmSync(work, { recursive: true, force: true })
}
log(failures === 0 ? 'all checks passed' : `${failures} check(s) failed`)
process.exitCode = failures === 0 ? 0 : 1
