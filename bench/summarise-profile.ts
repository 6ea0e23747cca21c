// node --import tsx bench/summarise-profile.ts <file.cpuprofile> [top]
// Top self-time functions, self time by area, and inclusive time of the project's functions.
import { profileMarkdown, summarise } from './lib/profile.js'

const [file, top] = process.argv.slice(2)
if (file === undefined) {
  process.stderr.write('usage: node --import tsx bench/summarise-profile.ts <file.cpuprofile> [top]\n')
  process.exit(2)
}
process.stdout.write(profileMarkdown(summarise(file, undefined, top === undefined ? 25 : Number(top))) + '\n')
