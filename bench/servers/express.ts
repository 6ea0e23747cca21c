// Server 4, the peer: the receiver a user would write for the same callbacks without this project.
// express.json(), the md5 check from Easemob's docs, a switch on the callback's type, no-op
// handlers, 200 {"status":"ok"}. No freshness window, no duplicate memory, no schema, no log line.
import { createHash } from 'node:crypto'
import express, { type Request, type Response } from 'express'
import { announce, portFromArgs } from './ipc.js'

const SECRET = 'test-secret'

type Callback = Record<string, any>
const handle = (_callback: Callback): void => {}

const app = express()
app.use(express.json())

app.post('/', (req: Request, res: Response) => {
  const body = req.body as Callback | undefined
  if (body === undefined || typeof body.callId !== 'string' || typeof body.security !== 'string') {
    res.status(400).json({ error: 'not a callback' })
    return
  }
  const expected = createHash('md5').update(body.callId + SECRET + String(body.timestamp)).digest('hex')
  if (expected !== body.security) {
    res.status(401).json({ error: 'bad signature' })
    return
  }

  if (body.event === 'group_op_event') {
    handle(body)
  } else {
    switch (body.chat_type) {
      case 'chat':
      case 'groupchat':
      case 'chatroom':
        if (body.step === 'push') { handle(body); break }
        switch (body.payload?.bodies?.[0]?.type) {
          case 'txt': handle(body); break
          case 'img': handle(body); break
          case 'audio': handle(body); break
          case 'video': handle(body); break
          case 'file': handle(body); break
          case 'loc': handle(body); break
          case 'cmd': handle(body); break
          case 'custom': handle(body); break
          default: handle(body)
        }
        break
      case 'recall': handle(body); break
      case 'edit': handle(body); break
      case 'read_ack':
      case 'delivery_ack':
      case 'channel_ack': handle(body); break
      case 'roster': handle(body); break
      case 'muc': handle(body); break
      case 'notify': handle(body); break
      default:
        switch (body.eventType) {
          case 'keyword_alert': handle(body); break
          case 'moderation': handle(body); break
          default: handle(body) // login / logout / replaced and anything new
        }
    }
  }
  res.json({ status: 'ok' })
})

const server = app.listen(portFromArgs(), '127.0.0.1', () => {
  const address = server.address()
  announce('express', typeof address === 'object' && address !== null ? address.port : 0, () => new Promise<void>(resolve => {
    server.close(() => resolve())
    server.closeAllConnections()
  }))
})
