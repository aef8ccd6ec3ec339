// README code blocks as files for the packed-install test (run.mjs).
//
// Every ```ts / ```js block of the root README and the package READMEs is compiled against the
// installed tarballs. A block is marked by an HTML comment on the line just before its fence:
//
//   <!-- run -->           the block is complete: it must compile with no error, and it runs
//                          (node, after tsc emits it) and must exit 0 on its own;
//   <!-- not-code -->      the block shows a value or a shape, not a program: not compiled.
//
// Unmarked blocks are fragments of a larger program: names they use without defining (`app`,
// `logger`, `server`...) are declared `any` before compiling, and only the errors that follow
// from that (implicitly-any callback parameters) are tolerated; every other error fails.
import { readFileSync } from 'node:fs'
import { basename, dirname, join, relative } from 'node:path'

const FENCE = /^```(ts|typescript|js|javascript)\s*$/

/**
 * Reads the marked blocks of the given README files.
 * @param {string} root repository root (names are relative to it)
 * @param {string[]} files README paths
 */
export function readBlocks(root, files) {
  const blocks = []
  for (const file of files) {
    const lines = readFileSync(file, 'utf8').split('\n')
    const where = relative(root, file)
    const stem = (dirname(where) === '.' ? 'root' : basename(dirname(where))).replace(/\W/g, '-')
    let n = 0
    for (let i = 0; i < lines.length; i++) {
      if (!FENCE.test(lines[i])) continue
      let end = i + 1
      while (end < lines.length && !lines[end].startsWith('```')) end++
      n++
      let before = i - 1
      while (before > 0 && lines[before].trim() === '') before--
      const marker = /^<!--\s*(run|not-code)\s*-->$/.exec(lines[before]?.trim() ?? '')?.[1]
      blocks.push({
        id: `${stem}-${n}`,
        source: `${where}:${i + 1}`,
        mode: marker ?? 'fragment',
        code: lines.slice(i + 1, end).join('\n'),
      })
      i = end
    }
  }
  return blocks
}

/** One tsc diagnostic: `file(line,col): error TSnnnn: message`. */
export function parseDiagnostics(output) {
  const out = []
  for (const line of output.split('\n')) {
    const m = /^(.+?)\((\d+),(\d+)\): error TS(\d+): (.*)$/.exec(line)
    if (m)
      out.push({ file: m[1], line: Number(m[2]), code: Number(m[4]), message: m[5], text: line })
  }
  return out
}

/** Names a fragment uses without defining them, from a first compile's diagnostics. */
export function freeNames(diagnostics) {
  const names = new Set()
  for (const d of diagnostics) {
    // 2304 cannot find name, 2552 cannot find name (did you mean), 18004 shorthand property
    if (d.code === 2304 || d.code === 2552 || d.code === 18004) {
      const name = /'([^']+)'/.exec(d.message)?.[1]
      if (name) names.add(name)
    }
  }
  return [...names].sort()
}

/** The errors tolerated in a fragment once its free names are `any`. */
export function toleratedInFragment(d) {
  // 7006 / 7031: a callback parameter or binding is implicitly any because its callee is
  return d.code === 7006 || d.code === 7031
}

/** The file text of a block: a module, with `declare const x: any` for its free names. */
export function blockFile(block, names = []) {
  const declarations = names.map(
    (name) => `// eslint-disable-next-line\ndeclare const ${name}: any`,
  )
  return [`// ${block.source} (${block.mode})`, ...declarations, block.code, 'export {}', ''].join(
    '\n',
  )
}

export function blockPath(dir, block) {
  return join(dir, `${block.id}.ts`)
}
