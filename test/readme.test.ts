// The READMEs stay in step with the code and with each other: every service variable is in the
// English configuration table, the Chinese README has the same variables and the same commands.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { ENVIRONMENT, RENAMED } from '../service/config.js'

const english = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
const chinese = readFileSync(new URL('../README.zh-CN.md', import.meta.url), 'utf8')

function section (text: string, heading: string): string {
  const start = text.indexOf(`\n${heading}\n`)
  if (start === -1) throw new Error(`no section ${heading}`)
  const end = text.indexOf('\n## ', start + heading.length + 2)
  return text.slice(start, end === -1 ? undefined : end)
}

/** The variable names of a table's first column (cells like `A` / `B`). */
function variables (table: string): string[] {
  return table.split('\n').filter(line => line.startsWith('| `')).flatMap(line => [...line.split('|')[1].matchAll(/`([A-Z_]+)`/g)].map(match => match[1]))
}

/** Fenced code blocks, with comments and trailing spaces removed, so that translated comments compare equal. */
function codeBlocks (text: string): string[] {
  return [...text.matchAll(/```(\w*)\n([\s\S]*?)```/g)].map(([, language, body]) => body.split('\n').map(line => {
    const comment = language === 'sh' ? /(^|\s)#\s.*$/ : /\s*\/\/.*$/
    return line.replace(comment, '').trimEnd()
  }).join('\n'))
}

t.test('the README is a user\'s README, not a notebook', async t => {
  const lines = english.trimEnd().split('\n').length
  t.ok(lines <= 350, `${lines} lines`)
  t.match(english, /\[中文说明\]\(README\.zh-CN\.md\)/)
})

t.test('every variable the service reads is in the configuration table', async t => {
  const documented = new Set(variables(section(english, '## Configuration of the service')))
  t.same(ENVIRONMENT.map(([name]) => name).filter(name => !documented.has(name)), [])
  t.same([...documented].filter(name => !ENVIRONMENT.some(([known]) => known === name) && !RENAMED.some(([old]) => old === name)), [], 'and nothing else')
})

t.test('README.zh-CN.md has the same variables and the same commands', async t => {
  t.same(variables(section(chinese, '## 服务配置')), variables(section(english, '## Configuration of the service')))
  const blocks = new Set(codeBlocks(english))
  for (const block of codeBlocks(chinese)) t.ok(blocks.has(block), `a block of README.zh-CN.md is in README.md:\n${block.slice(0, 200)}`)
})
