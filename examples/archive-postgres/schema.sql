-- The chat archive of examples/archive-postgres. The app runs this file at every start: each
-- statement is IF NOT EXISTS, so a second run changes nothing. Names are unqualified, so the
-- tables land in the first schema of the connection's search_path (the test uses a throw-away one).

-- Replicas starting together: one creates the tables while the others wait. The app sends this file
-- as one query, which PostgreSQL runs as one transaction, so the lock is held to the end of it.
SELECT pg_advisory_xact_lock(hashtext('easemob-archive-schema'));

-- One row per chat message, keyed by msg_id: Easemob may send a message more than once (a replay,
-- a retry, a `chat` callback and a `chat_offline` one, one `chat_offline` per offline member of a
-- group), and every copy is the same message. The first copy taken is stored; the others change
-- nothing (INSERT ... ON CONFLICT (msg_id) DO NOTHING).
CREATE TABLE IF NOT EXISTS messages (
  msg_id        text PRIMARY KEY,
  call_id       text NOT NULL,          -- the callId of the copy stored
  event_type    text,                   -- chat or chat_offline
  chat_type     text NOT NULL,          -- chat, groupchat or chatroom
  from_user     text,
  to_id         text,                   -- the recipient of a one-to-one message; the group or room of a group or room message
  group_id      text,
  conversation  text NOT NULL,          -- the group or room id, or the two users sorted ("alice:bob")
  kind          text NOT NULL,          -- the body type (txt, img, ..., combine), or unknown
  text          text,                   -- a txt message's text, or a short summary of the bodies
  payload       jsonb,                  -- the payload as sent ({ext, bodies}); for an unknown body type, whatever came
  unrecognised  text,                   -- for kind unknown: why the package did not recognise it
  sent_at       timestamptz NOT NULL,   -- the callback's timestamp
  stored_at     timestamptz NOT NULL DEFAULT now(),
  edited_at     timestamptz,
  edit_count    integer NOT NULL DEFAULT 0
);

CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages (conversation, sent_at, msg_id);

-- Recalls, by the recalled message's id. Kept apart from the messages so that a recall that comes
-- before its message (callbacks are separate requests, and a retried one comes late) still applies:
-- the listing joins the two.
CREATE TABLE IF NOT EXISTS recalls (
  msg_id       text PRIMARY KEY,
  call_id      text NOT NULL,
  recalled_by  text,
  recalled_at  timestamptz NOT NULL
);
