// Server 1, the floor: bare node:http that reads the body, JSON.parses it and answers 200.
import { createServer } from 'node:http'
import { announce, OK_BODY, OK_LENGTH, portFromArgs } from './ipc.js'

const HEADERS = { 'content-type': 'application/json; charset=utf-8', 'content-length': OK_LENGTH }

const server = createServer((request, response) => {
  const chunks: Buffer[] = []
  request.on('data', (chunk: Buffer) => { chunks.push(chunk) })
  request.on('end', () => {
    try {
      JSON.parse(Buffer.concat(chunks).toString('utf8'))
    } catch {
      response.writeHead(400).end()
      return
    }
    response.writeHead(200, HEADERS).end(OK_BODY)
  })
})

server.listen(portFromArgs(), '127.0.0.1', () => {
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  announce('node-http', port, () => new Promise<void>(resolve => {
    server.close(() => resolve())
    server.closeAllConnections()
  }))
})
