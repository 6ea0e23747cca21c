// Server 5: the receiver a user would write without this project, on Express 5: express.json(),
// the md5 check from Easemob's docs, a switch on the callback's type, no-op handlers, one answer.
import { createHash } from 'node:crypto'
import express from 'express'

const SECRET = 'test-secret'
const handle = (_callback: Record<string, any>): void => {}

const app = express()
app.use(express.json())
app.post('/', (req, res) => {
  const body = (req.body ?? {}) as Record<string, any>
  const expected = createHash('md5').update(String(body.callId) + SECRET + String(body.timestamp)).digest('hex')
  if (expected !== body.security) {
    res.status(401).json({ error: 'bad signature' })
    return
  }
  switch (body.chat_type) {
    case 'chat':
    case 'groupchat':
    case 'chatroom': handle(body); break // a message: txt, img, audio, ... in payload.bodies
    case 'recall': handle(body); break
    case 'read_ack':
    case 'delivery_ack':
    case 'channel_ack': handle(body); break
    case 'roster': handle(body); break
    case 'muc': handle(body); break
    default: handle(body) // login, logout, moderation, ... by eventType
  }
  res.json({ status: 'ok' })
})
app.listen(Number(process.env.PORT), '127.0.0.1')
