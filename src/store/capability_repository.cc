#include "store/capability_repository.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "cap/signing.h"

namespace soma::store {
namespace {

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

core::ByteView id_bytes(const cap::ArtifactId& id) { return core::ByteView(id.data(), id.size()); }

constexpr std::string_view kCapabilityColumns =
    "id, space_id, subject, issuer, role, issued_ms, expires_ms, delegated, envelope";

core::Result<cap::AcceptedCapability> read_capability(const Statement& stmt) {
  cap::AcceptedCapability c;
  const core::Bytes id = stmt.column_blob(0);
  if (id.size() != c.id.size()) {
    return core::Error::data_loss("a stored capability id is not 16 bytes; the database is damaged");
  }
  std::copy(id.begin(), id.end(), c.id.begin());
  c.space = stmt.column_text(1);
  auto subject = crypto::PeerId::parse(stmt.column_text(2));
  auto issuer = crypto::PeerId::parse(stmt.column_text(3));
  auto role = cap::parse_role(stmt.column_text(4));
  if (!subject || !issuer || !role) {
    return core::Error::data_loss(fmt::format(
        "stored capability {} of space {} has an unreadable subject, issuer or role; the "
        "database is damaged",
        cap::to_hex(c.id), c.space));
  }
  c.subject = std::move(*subject);
  c.issuer = std::move(*issuer);
  c.role = *role;
  c.issued_at = stmt.column_int64(5);
  c.expires_at = stmt.column_int64(6);
  c.delegated = stmt.column_int64(7) != 0;
  c.bytes = stmt.column_blob(8);
  return c;
}

}  // namespace

core::Result<std::vector<cap::Revocation>> CapabilityRepository::revocations(
    std::string_view space) const {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare("SELECT envelope FROM revocations WHERE space_id = ? ORDER BY rowid");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, space);
  std::vector<cap::Revocation> out;
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.take_error();
    if (!*row) break;
    auto decoded = cap::decode_signed<cap::Revocation>(stmt->column_blob(0));
    if (!decoded.ok()) {
      return core::Error::data_loss(
          fmt::format("a stored revocation of space {} no longer decodes ({}); the database is "
                      "damaged",
                      space.substr(0, 64), decoded.refusal().message));
    }
    out.push_back(std::move(decoded->body));
  }
  return out;
}

core::Result<bool> CapabilityRepository::is_accepted(std::string_view space,
                                                     const cap::ArtifactId& id) const {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare("SELECT 1 FROM capabilities WHERE space_id = ? AND id = ?");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, space).bind(2, id_bytes(id));
  return stmt->step();
}

core::Result<std::vector<cap::Timestamp>> CapabilityRepository::issuance_times(
    std::string_view space, const crypto::PeerId& issuer, cap::Timestamp from,
    cap::Timestamp to) const {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(
      "SELECT issued_ms FROM capabilities WHERE space_id = ? AND issuer = ? AND delegated = 1 "
      "AND issued_ms BETWEEN ? AND ? ORDER BY issued_ms");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, space).bind(2, issuer.to_string()).bind(3, from).bind(4, to);
  std::vector<cap::Timestamp> out;
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.take_error();
    if (!*row) break;
    out.push_back(stmt->column_int64(0));
  }
  return out;
}

core::Status CapabilityRepository::record_capability(const cap::AcceptedCapability& capability) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(
      "INSERT INTO capabilities (id, space_id, subject, issuer, role, issued_ms, expires_ms, "
      "delegated, envelope, recorded_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
      "ON CONFLICT (space_id, id) DO NOTHING");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, id_bytes(capability.id))
      .bind(2, capability.space)
      .bind(3, capability.subject.to_string())
      .bind(4, capability.issuer.to_string())
      .bind(5, cap::to_string(capability.role))
      .bind(6, capability.issued_at)
      .bind(7, capability.expires_at)
      .bind(8, std::int64_t{capability.delegated ? 1 : 0})
      .bind(9, core::ByteView(capability.bytes))
      .bind(10, now_ms());
  return stmt->run();
}

core::Result<std::vector<cap::AcceptedCapability>> CapabilityRepository::capabilities_for(
    std::string_view space, const crypto::PeerId& subject) const {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(fmt::format(
      "SELECT {} FROM capabilities WHERE space_id = ? AND subject = ? ORDER BY issued_ms, id",
      kCapabilityColumns));
  if (!stmt) return stmt.take_error();
  stmt->bind(1, space).bind(2, subject.to_string());
  std::vector<cap::AcceptedCapability> out;
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.take_error();
    if (!*row) break;
    auto c = read_capability(*stmt);
    if (!c) return c.take_error();
    out.push_back(std::move(*c));
  }
  return out;
}

core::Result<std::vector<cap::AcceptedCapability>> CapabilityRepository::in_space(
    std::string_view space, std::size_t limit) const {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(fmt::format(
      "SELECT {} FROM capabilities WHERE space_id = ? ORDER BY subject, issued_ms, id LIMIT ?",
      kCapabilityColumns));
  if (!stmt) return stmt.take_error();
  const auto capped = std::min<std::size_t>(limit, 1u << 30);
  stmt->bind(1, space).bind(2, static_cast<std::int64_t>(capped));
  std::vector<cap::AcceptedCapability> out;
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.take_error();
    if (!*row) break;
    auto c = read_capability(*stmt);
    if (!c) return c.take_error();
    out.push_back(std::move(*c));
  }
  return out;
}

core::Result<std::optional<cap::AcceptedCapability>> CapabilityRepository::find(
    std::string_view space, const cap::ArtifactId& id) const {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(fmt::format(
      "SELECT {} FROM capabilities WHERE space_id = ? AND id = ?", kCapabilityColumns));
  if (!stmt) return stmt.take_error();
  stmt->bind(1, space).bind(2, id_bytes(id));
  auto row = stmt->step();
  if (!row) return row.take_error();
  if (!*row) return std::optional<cap::AcceptedCapability>();
  auto c = read_capability(*stmt);
  if (!c) return c.take_error();
  return std::optional<cap::AcceptedCapability>(std::move(*c));
}

core::Status CapabilityRepository::record_revocation(
    const cap::Signed<cap::Revocation>& revocation) {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare(
      "INSERT INTO revocations (space_id, id, kind, envelope, recorded_ms) VALUES (?, ?, ?, ?, ?) "
      "ON CONFLICT (space_id, id) DO NOTHING");
  if (!stmt) return stmt.take_error();
  const core::Bytes envelope = cap::encode_signed(revocation);
  stmt->bind(1, revocation.body.space)
      .bind(2, id_bytes(revocation.body.id))
      .bind(3, cap::to_string(revocation.body.kind))
      .bind(4, core::ByteView(envelope))
      .bind(5, now_ms());
  return stmt->run();
}

core::Result<std::optional<crypto::PeerId>> SpaceOwners::owner_of(std::string_view space) const {
  std::lock_guard lock(db_.mutex());
  auto stmt = db_.prepare("SELECT owner FROM spaces WHERE id = ?");
  if (!stmt) return stmt.take_error();
  stmt->bind(1, space);
  auto row = stmt->step();
  if (!row) return row.take_error();
  if (!*row) return std::optional<crypto::PeerId>();
  auto owner = crypto::PeerId::parse(stmt->column_text(0));
  if (!owner) {
    return core::Error::data_loss(
        fmt::format("the owner recorded for space {} is not a peer id ({}); the database is "
                    "damaged",
                    space.substr(0, 64), owner.error().message));
  }
  return std::optional<crypto::PeerId>(std::move(*owner));
}

}  // namespace soma::store
