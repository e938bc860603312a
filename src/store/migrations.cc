#include "store/migrations.h"

namespace soma::store {

const std::vector<Migration>& daemon_migrations() {
  static const std::vector<Migration> kMigrations = {
      {1, "initial schema", R"sql(
CREATE TABLE spaces (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  owner       TEXT NOT NULL,
  created_ms  INTEGER NOT NULL,
  updated_ms  INTEGER NOT NULL
);

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

CREATE TABLE space_blobs (
  space_id    TEXT NOT NULL REFERENCES spaces(id) ON DELETE CASCADE,
  cid         TEXT NOT NULL REFERENCES blobs(cid),
  added_ms    INTEGER NOT NULL,
  PRIMARY KEY (space_id, cid)
);

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
