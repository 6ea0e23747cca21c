// Server 1, the floor: bare node:http that reads the body, JSON.parses it and answers 200.
import { createServer } from 'node:http'

const OK = '{"status":"ok"}'

createServer((request, response) => {
  const chunks: Buffer[] = []
  request.on('data', (chunk: Buffer) => chunks.push(chunk))
  request.on('end', () => {
    try {
      JSON.parse(Buffer.concat(chunks).toString('utf8'))
    } catch {
      response.writeHead(400).end()
      return
    }
    response.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(OK)
  })
}).listen(Number(process.env.PORT), '127.0.0.1')
