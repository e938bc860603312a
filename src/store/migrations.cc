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
  };
  return kMigrations;
}

}  // namespace soma::store
