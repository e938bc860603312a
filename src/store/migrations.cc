#include "store/migrations.h"

namespace soma::store {

const std::vector<Migration>& daemon_migrations() {
  static const std::vector<Migration> kMigrations = {
      {1, "initial schema", R"sql(
CREATE TABLE spaces (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  owner       TEXT NOT NULL,
  role        TEXT NOT NULL DEFAULT 'owner',
  created_ms  INTEGER NOT NULL,
  updated_ms  INTEGER NOT NULL
);
CREATE INDEX spaces_by_name ON spaces(name);

CREATE TABLE pages (
  id          TEXT PRIMARY KEY,
  space_id    TEXT NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,
  parent_id   TEXT REFERENCES pages(id) ON DELETE CASCADE,
  title       TEXT NOT NULL,
  kind        TEXT NOT NULL,
  position    INTEGER NOT NULL,
  created_ms  INTEGER NOT NULL,
  updated_ms  INTEGER NOT NULL
);
CREATE INDEX pages_by_parent ON pages(space_id, parent_id, position);
-- Foreign-key cascades look children up by parent alone.
CREATE INDEX pages_by_parent_id ON pages(parent_id);

CREATE TABLE documents (
  page_id     TEXT PRIMARY KEY REFERENCES pages(id) ON DELETE CASCADE,
  format      TEXT NOT NULL,
  text        TEXT NOT NULL,
  structure   TEXT NOT NULL,
  revision    INTEGER NOT NULL,
  updated_ms  INTEGER NOT NULL
);

CREATE TABLE blobs (
  cid         TEXT PRIMARY KEY,
  size        INTEGER NOT NULL,
  leaves      BLOB NOT NULL,
  created_ms  INTEGER NOT NULL
);

-- The blobs a document refers to, in the order the document lists them.
CREATE TABLE document_blobs (
  page_id     TEXT NOT NULL REFERENCES documents(page_id) ON DELETE CASCADE,
  cid         TEXT NOT NULL REFERENCES blobs(cid),
  ordinal     INTEGER NOT NULL,
  PRIMARY KEY (page_id, cid)
);
CREATE INDEX document_blobs_by_cid ON document_blobs(cid);

CREATE TABLE space_blobs (
  space_id    TEXT NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,
  cid         TEXT NOT NULL REFERENCES blobs(cid),
  added_ms    INTEGER NOT NULL,
  PRIMARY KEY (space_id, cid)
);
CREATE INDEX space_blobs_by_cid ON space_blobs(cid);

CREATE TABLE attachments (
  id          TEXT PRIMARY KEY,
  space_id    TEXT NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,
  page_id     TEXT REFERENCES pages(id) ON DELETE CASCADE,
  name        TEXT NOT NULL,
  cid         TEXT NOT NULL REFERENCES blobs(cid),
  size        INTEGER NOT NULL,
  media_type  TEXT NOT NULL,
  created_ms  INTEGER NOT NULL
);
CREATE INDEX attachments_by_page ON attachments(space_id, page_id);
CREATE INDEX attachments_by_page_id ON attachments(page_id);

CREATE TABLE events (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  time_ms     INTEGER NOT NULL,
  kind        TEXT NOT NULL,
  space_id    TEXT,
  subject     TEXT,
  detail      TEXT NOT NULL DEFAULT ''
);

CREATE TABLE settings (
  key         TEXT PRIMARY KEY,
  value       TEXT NOT NULL
);
)sql"},
      {2, "remembered listen ports", R"sql(
-- The port a /tcp/0 listen address was given, so the daemon's addresses
-- stay the same across restarts.
CREATE TABLE listen_ports (
  listen_addr TEXT PRIMARY KEY,
  port        INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
  updated_ms  INTEGER NOT NULL
);
)sql"},
      {3, "memberships, join requests and their audit", R"sql(
-- Membership capabilities the authorizer accepted: presented by peers,
-- received in join decisions or issued here. The carried envelope is kept
-- and verified again on every use; the other columns index it.
CREATE TABLE capabilities (
  space_id    TEXT NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,
  id          BLOB NOT NULL CHECK (length(id) = 16),
  subject     TEXT NOT NULL,
  issuer      TEXT NOT NULL,
  role        TEXT NOT NULL,
  issued_ms   INTEGER NOT NULL,
  expires_ms  INTEGER NOT NULL,
  delegated   INTEGER NOT NULL CHECK (delegated IN (0, 1)),
  envelope    BLOB NOT NULL,
  recorded_ms INTEGER NOT NULL,
  PRIMARY KEY (space_id, id)
);
CREATE INDEX capabilities_by_subject ON capabilities(space_id, subject);
CREATE INDEX capabilities_by_issuer ON capabilities(space_id, issuer, issued_ms);

-- Revocations verified against their space's owner.
CREATE TABLE revocations (
  space_id    TEXT NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,
  id          BLOB NOT NULL CHECK (length(id) = 16),
  kind        TEXT NOT NULL,
  envelope    BLOB NOT NULL,
  recorded_ms INTEGER NOT NULL,
  PRIMARY KEY (space_id, id)
);

-- Spaces this device joined: owned by another peer and held through a
-- membership capability (stored in `capabilities`).
CREATE TABLE memberships (
  space_id      TEXT PRIMARY KEY REFERENCES spaces(id) ON DELETE CASCADE,
  owner         TEXT NOT NULL,
  role          TEXT NOT NULL,
  state         TEXT NOT NULL,
  capability_id BLOB NOT NULL,
  expires_ms    INTEGER NOT NULL,
  request_id    TEXT NOT NULL DEFAULT '',
  joined_ms     INTEGER NOT NULL,
  updated_ms    INTEGER NOT NULL
);

-- Join requests in both directions. `id` is the request's nonce in hex.
-- Incoming: `peer` is the requester as its channel authenticated it.
-- Outgoing: `peer` is the peer the request went to.
CREATE TABLE join_requests (
  id           TEXT PRIMARY KEY,
  direction    TEXT NOT NULL CHECK (direction IN ('incoming', 'outgoing')),
  space_id     TEXT NOT NULL,
  peer         TEXT NOT NULL,
  owner        TEXT NOT NULL DEFAULT '',
  role         TEXT NOT NULL,
  state        TEXT NOT NULL,
  request      BLOB NOT NULL,
  peer_addrs   TEXT NOT NULL DEFAULT '',
  via          TEXT NOT NULL DEFAULT '',
  space_name   TEXT NOT NULL DEFAULT '',
  created_ms   INTEGER NOT NULL,
  updated_ms   INTEGER NOT NULL,
  granted_role TEXT,
  expires_ms   INTEGER,
  reason       TEXT,
  decision     BLOB,
  decided_ms   INTEGER,
  delivery     TEXT NOT NULL DEFAULT '',
  detail       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX join_requests_by_state ON join_requests(direction, state, created_ms);
CREATE INDEX join_requests_by_peer ON join_requests(direction, peer, state);
CREATE INDEX join_requests_by_space ON join_requests(direction, space_id, state);

-- Decisions made here that have not reached their requester yet.
CREATE TABLE decision_outbox (
  request_id      TEXT PRIMARY KEY REFERENCES join_requests(id) ON DELETE CASCADE,
  peer            TEXT NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms INTEGER NOT NULL,
  give_up_ms      INTEGER NOT NULL,
  last_error      TEXT NOT NULL DEFAULT '',
  created_ms      INTEGER NOT NULL
);
CREATE INDEX decision_outbox_by_due ON decision_outbox(next_attempt_ms);

-- Who asked, decided, issued or revoked what, and when. Kept for audit:
-- never pruned, and no cascade from spaces.
CREATE TABLE membership_audit (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  time_ms       INTEGER NOT NULL,
  space_id      TEXT NOT NULL,
  action        TEXT NOT NULL,
  actor         TEXT NOT NULL,
  subject       TEXT NOT NULL DEFAULT '',
  request_id    TEXT NOT NULL DEFAULT '',
  capability_id TEXT NOT NULL DEFAULT '',
  role          TEXT NOT NULL DEFAULT '',
  detail        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX membership_audit_by_space ON membership_audit(space_id, id);
)sql"},
      {4, "join request outbox and mailbox", R"sql(
-- Join requests made here whose target could not be reached yet.
CREATE TABLE request_outbox (
  request_id      TEXT PRIMARY KEY REFERENCES join_requests(id) ON DELETE CASCADE,
  target          TEXT NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms INTEGER NOT NULL,
  give_up_ms      INTEGER NOT NULL,
  last_error      TEXT NOT NULL DEFAULT '',
  created_ms      INTEGER NOT NULL
);
CREATE INDEX request_outbox_by_due ON request_outbox(next_attempt_ms);

-- Items this daemon holds for other peers (/soma/mailbox/1). `recipient`
-- and `depositor` are PeerIds as their channels authenticated them.
CREATE TABLE mailbox_items (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  recipient    TEXT NOT NULL,
  depositor    TEXT NOT NULL,
  kind         INTEGER NOT NULL,
  payload      BLOB NOT NULL,
  deposited_ms INTEGER NOT NULL,
  expires_ms   INTEGER NOT NULL
);
CREATE INDEX mailbox_items_by_recipient ON mailbox_items(recipient, id);
CREATE INDEX mailbox_items_by_expiry ON mailbox_items(expires_ms);
)sql"},
      {5, "delegations and pushed artifacts", R"sql(
-- Owner-signed issuer capabilities: those the owner issued here, and those
-- a delegate holds. The carried envelope is verified again before use.
CREATE TABLE delegations (
  space_id              TEXT NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,
  id                    BLOB NOT NULL CHECK (length(id) = 16),
  delegate              TEXT NOT NULL,
  roles                 TEXT NOT NULL,
  issued_ms             INTEGER NOT NULL,
  expires_ms            INTEGER NOT NULL,
  max_member_expires_ms INTEGER NOT NULL,
  rate_per_hour         INTEGER NOT NULL,
  envelope              BLOB NOT NULL,
  recorded_ms           INTEGER NOT NULL,
  PRIMARY KEY (space_id, id)
);
CREATE INDEX delegations_by_delegate ON delegations(space_id, delegate, expires_ms);

-- Signed artifacts on their way to a peer over /soma/capability/1:
-- delegations to their delegate, revocations to members, and memberships a
-- delegate issued to the space's owner. Retried with backoff until they
-- arrive or give_up_ms passes.
CREATE TABLE push_outbox (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  peer            TEXT NOT NULL,
  kind            INTEGER NOT NULL,
  space_id        TEXT NOT NULL,
  space_name      TEXT NOT NULL DEFAULT '',
  artifact        BLOB NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms INTEGER NOT NULL,
  give_up_ms      INTEGER NOT NULL,
  last_error      TEXT NOT NULL DEFAULT '',
  created_ms      INTEGER NOT NULL
);
CREATE INDEX push_outbox_by_due ON push_outbox(next_attempt_ms);
)sql"},
  };
  return kMigrations;
}

}  // namespace soma::store
