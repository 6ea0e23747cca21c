// `npm start` runs this first: it builds dist/ only when a source file is newer than the build,
// so that a start after a clone builds once and later starts begin at once.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

const SOURCES = ['index.ts', 'src', 'plugins', 'routes', 'service', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json']
const BUILT = 'dist/service/main.js'

function newest (path) {
  if (!existsSync(path)) return 0
  const stat = statSync(path)
  if (!stat.isDirectory()) return stat.mtimeMs
  return Math.max(0, ...readdirSync(path).map(name => newest(join(path, name))))
}

if (!existsSync(BUILT) || newest(BUILT) < Math.max(...SOURCES.map(newest))) {
  const result = spawnSync('npm', ['run', 'build'], { stdio: 'inherit' })
  process.exit(result.status ?? 1)
}
