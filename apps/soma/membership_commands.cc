// soma join, requests, approve, reject, audit, delegate, revoke, members
#include <cctype>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <limits>
#include <optional>

#include "commands.h"

namespace soma::cli {
namespace {

// The daemon marks errors that come from the network with this trailing
// metadata (see proto/soma/api/v1/membership.proto), so a peer that cannot
// be reached is not mistaken for a daemon that cannot.
constexpr std::string_view kErrorOriginKey = "soma-error-origin";
constexpr std::string_view kErrorOriginNetwork = "network";
// Request ids are shown this long in tables; `approve` and `reject` take
// any unique prefix of at least 8 digits.
constexpr std::size_t kShortId = 12;

template <typename Request, typename Reply>
core::Result<Reply> membership_call(
    Client& client,
    grpc::Status (api::Membership::Stub::*method)(grpc::ClientContext*, const Request&, Reply*),
    const Request& request) {
  auto ctx = client.context();
  Reply reply;
  grpc::Status status = (client.membership().*method)(ctx.get(), request, &reply);
  if (status.ok()) return reply;
  const auto& trailers = ctx->GetServerTrailingMetadata();
  auto it = trailers.find(grpc::string_ref(kErrorOriginKey.data(), kErrorOriginKey.size()));
  const bool from_network =
      it != trailers.end() &&
      std::string_view(it->second.data(), it->second.size()) == kErrorOriginNetwork;
  if (from_network && (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                       status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)) {
    return core::Error::unavailable(status.error_message());
  }
  if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
    return core::Error::internal(
        "this soma-daemon has no membership API: it is older than this soma; restart it from "
        "the same build");
  }
  return client.error(status);
}

// --- Reading --expires.

// "30d", "12h", "90m", "45s", "2w": a positive count and one unit.
std::optional<std::int64_t> parse_duration_ms(const std::string& text) {
  if (text.size() < 2) return std::nullopt;
  const char unit = static_cast<char>(std::tolower(static_cast<unsigned char>(text.back())));
  std::int64_t scale = 0;
  switch (unit) {
    case 's':
      scale = 1000;
      break;
    case 'm':
      scale = 60 * 1000;
      break;
    case 'h':
      scale = 60 * 60 * 1000;
      break;
    case 'd':
      scale = 24 * 60 * 60 * 1000;
      break;
    case 'w':
      scale = 7 * 24 * 60 * 60 * 1000LL;
      break;
    default:
      return std::nullopt;
  }
  std::int64_t count = 0;
  for (std::size_t i = 0; i + 1 < text.size(); ++i) {
    const char c = text[i];
    if (c < '0' || c > '9') return std::nullopt;
    if (count > (std::numeric_limits<std::int64_t>::max() / scale - 9) / 10) return std::nullopt;
    count = count * 10 + (c - '0');
  }
  if (count <= 0) return std::nullopt;
  return count * scale;
}

// Reads `n` digits at text[pos], advancing pos.
std::optional<int> digits(const std::string& text, std::size_t& pos, std::size_t n) {
  if (pos + n > text.size()) return std::nullopt;
  int value = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = text[pos + i];
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  pos += n;
  return value;
}

bool expect(const std::string& text, std::size_t& pos, std::string_view any_of) {
  if (pos >= text.size() || any_of.find(text[pos]) == std::string_view::npos) return false;
  ++pos;
  return true;
}

// RFC 3339: 2027-01-31T18:00:00Z, with optional fractional seconds and a
// numeric offset instead of Z. Returns ms since the Unix epoch.
std::optional<std::int64_t> parse_rfc3339_ms(const std::string& text) {
  std::size_t pos = 0;
  auto year = digits(text, pos, 4);
  if (!year || !expect(text, pos, "-")) return std::nullopt;
  auto month = digits(text, pos, 2);
  if (!month || !expect(text, pos, "-")) return std::nullopt;
  auto day = digits(text, pos, 2);
  if (!day || !expect(text, pos, "Tt ")) return std::nullopt;
  auto hour = digits(text, pos, 2);
  if (!hour || !expect(text, pos, ":")) return std::nullopt;
  auto minute = digits(text, pos, 2);
  if (!minute || !expect(text, pos, ":")) return std::nullopt;
  auto second = digits(text, pos, 2);
  if (!second) return std::nullopt;
  std::int64_t millis = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    std::size_t n = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (n < 3) millis = millis * 10 + (text[pos] - '0');
      ++n;
      ++pos;
    }
    if (n == 0) return std::nullopt;
    for (; n < 3; ++n) millis *= 10;
  }
  std::int64_t offset_minutes = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    auto oh = digits(text, pos, 2);
    if (!oh || !expect(text, pos, ":")) return std::nullopt;
    auto om = digits(text, pos, 2);
    if (!om || *oh > 23 || *om > 59) return std::nullopt;
    offset_minutes = sign * (*oh * 60 + *om);
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;
  if (*month < 1 || *month > 12 || *day < 1 || *day > 31 || *hour > 23 || *minute > 59 ||
      *second > 60) {
    return std::nullopt;
  }

  std::tm tm{};
  tm.tm_year = *year - 1900;
  tm.tm_mon = *month - 1;
  tm.tm_mday = *day;
  tm.tm_hour = *hour;
  tm.tm_min = *minute;
  tm.tm_sec = *second == 60 ? 59 : *second;  // a leap second counts as :59
  const std::time_t seconds = ::timegm(&tm);
  // timegm normalizes a day past the month's end; such a date was not valid.
  if (tm.tm_mday != *day || tm.tm_mon != *month - 1) return std::nullopt;
  return (static_cast<std::int64_t>(seconds) - offset_minutes * 60) * 1000 + millis;
}

// --- Printing.

std::string short_id(const std::string& id) { return id.substr(0, kShortId); }
std::string dash(const std::string& s) { return s.empty() ? std::string("-") : s; }

nlohmann::json to_json(const api::JoinRequestInfo& r) {
  return {{"id", r.id()},
          {"direction", r.direction()},
          {"space_id", r.space_id()},
          {"space_name", r.space_name()},
          {"peer", r.peer()},
          {"owner", r.owner()},
          {"role", r.role()},
          {"state", r.state()},
          {"created_ms", r.created_ms()},
          {"updated_ms", r.updated_ms()},
          {"granted_role", r.granted_role()},
          {"expires_ms", r.expires_ms()},
          {"reason", r.reason()},
          {"decided_ms", r.decided_ms()},
          {"delivery", r.delivery()},
          {"detail", r.detail()},
          {"via", r.via()}};
}

void print_request(const Output& out, const api::JoinRequestInfo& r) {
  out.document(to_json(r));
  std::vector<std::pair<std::string, std::string>> rows = {
      {"request", r.id()},
      {"direction", r.direction()},
      {"space", r.space_id() + (r.space_name().empty() ? "" : " (" + r.space_name() + ")")},
      {r.direction() == "incoming" ? "from" : "to", dash(r.peer())},
      {"role asked", r.role()},
      {"state", r.state()}};
  if (!r.granted_role().empty()) rows.emplace_back("role granted", r.granted_role());
  if (r.expires_ms() > 0) rows.emplace_back("until", format_time(r.expires_ms()));
  if (!r.reason().empty()) rows.emplace_back("reason", r.reason());
  if (!r.delivery().empty()) rows.emplace_back("delivery", r.delivery());
  if (!r.detail().empty()) rows.emplace_back("detail", r.detail());
  out.fields(rows);
}

// --- Commands.

struct MembershipArgs {
  std::string space;
  std::string peer;
  std::string roles;
  std::string delegation_expires;
  std::string max_member_expiry;
  std::string rate;
  std::string issued;
  std::string via;
  std::string role;
  std::string request;
  std::string expires;
  std::string reason;
  std::string state;
  bool incoming = false;
  bool outgoing = false;
  std::uint32_t limit = 0;
};

int run_join(Context& ctx, const MembershipArgs& args) {
  Output out = ctx.out();
  auto client = ctx.client();
  if (!client) return out.fail(client.error());
  api::JoinSpaceRequest request;
  request.set_space(args.space);
  request.set_via(args.via);
  request.set_role(args.role);
  auto r = membership_call(**client, &api::Membership::Stub::Join, request);
  if (!r) return out.fail(r.error());
  out.document(to_json(*r));
  if (r->state() == "approved") {
    out.line("joined space " + r->space_id() + " as " + r->granted_role());
  } else if (r->state() == "rejected") {
    out.line("the request to join " + r->space_id() + " was rejected" +
             (r->reason().empty() ? "" : ": " + r->reason()));
  } else {
    out.line("asked " + r->peer() + " to let this daemon join " + r->space_id() + " as " +
             r->role() + "; request " + r->id() + " is " + r->state());
    // A target that could not be reached yet: the daemon keeps trying.
    if (!r->detail().empty()) out.line(r->detail());
    out.line("`soma requests --outgoing` shows it; the owner decides with `soma approve`");
  }
  return kExitOk;
}

int run_requests(Context& ctx, const MembershipArgs& args) {
  Output out = ctx.out();
  if (args.incoming && args.outgoing) {
    return out.fail(core::Error::invalid(
        "--incoming and --outgoing exclude each other; give neither to list both"));
  }
  auto client = ctx.client();
  if (!client) return out.fail(client.error());
  api::ListRequestsRequest request;
  if (args.incoming) request.set_direction("incoming");
  if (args.outgoing) request.set_direction("outgoing");
  request.set_state(args.state);
  auto reply = membership_call(**client, &api::Membership::Stub::ListRequests, request);
  if (!reply) return out.fail(reply.error());

  nlohmann::json requests = nlohmann::json::array();
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : reply->requests()) {
    requests.push_back(to_json(r));
    std::string state = r.state();
    if (!r.granted_role().empty()) state += " (" + r.granted_role() + ")";
    if (r.delivery() == "pending" || r.delivery() == "failed") {
      state += ", delivery " + r.delivery();
    }
    rows.push_back({short_id(r.id()), r.direction() == "incoming" ? "in" : "out",
                    r.space_name().empty() ? r.space_id() : r.space_name(), dash(r.peer()),
                    r.role(), state, format_time(r.created_ms())});
  }
  out.document({{"requests", requests}});
  if (rows.empty()) {
    out.line("no join requests");
  } else {
    out.table({"ID", "DIR", "SPACE", "PEER", "ROLE", "STATE", "CREATED"}, rows);
  }
  return kExitOk;
}

int run_approve(Context& ctx, const MembershipArgs& args) {
  Output out = ctx.out();
  api::ApproveRequest request;
  request.set_request(args.request);
  request.set_role(args.role);
  if (!args.expires.empty()) {
    if (auto lifetime = parse_duration_ms(args.expires)) {
      request.set_lifetime_ms(*lifetime);
    } else if (auto at = parse_rfc3339_ms(args.expires)) {
      request.set_expires_at_ms(*at);
    } else {
      return out.fail(
          core::Error::invalid("--expires takes a duration (30d, 12h, 90m, 2w) or an RFC 3339 time "
                               "(2027-01-31T18:00:00Z), not '" +
                               args.expires + "'"));
    }
  }
  auto client = ctx.client();
  if (!client) return out.fail(client.error());
  auto r = membership_call(**client, &api::Membership::Stub::Approve, request);
  if (!r) return out.fail(r.error());
  out.line("approved: " + r->peer() + " may join " + r->space_id() + " as " + r->granted_role() +
           "; the decision is on its way to the requester");
  print_request(out, *r);
  return kExitOk;
}

int run_reject(Context& ctx, const MembershipArgs& args) {
  Output out = ctx.out();
  auto client = ctx.client();
  if (!client) return out.fail(client.error());
  api::RejectRequest request;
  request.set_request(args.request);
  request.set_reason(args.reason);
  auto r = membership_call(**client, &api::Membership::Stub::Reject, request);
  if (!r) return out.fail(r.error());
  out.line("rejected the request of " + r->peer() + " to join " + r->space_id());
  print_request(out, *r);
  return kExitOk;
}

int run_audit(Context& ctx, const MembershipArgs& args) {
  Output out = ctx.out();
  auto client = ctx.client();
  if (!client) return out.fail(client.error());
  api::AuditRequest request;
  request.set_space(args.space);
  request.set_limit(args.limit);
  auto reply = membership_call(**client, &api::Membership::Stub::Audit, request);
  if (!reply) return out.fail(reply.error());

  nlohmann::json entries = nlohmann::json::array();
  std::vector<std::vector<std::string>> rows;
  for (const auto& e : reply->entries()) {
    entries.push_back({{"id", e.id()},
                       {"time_ms", e.time_ms()},
                       {"space_id", e.space_id()},
                       {"action", e.action()},
                       {"actor", e.actor()},
                       {"subject", e.subject()},
                       {"request_id", e.request_id()},
                       {"capability_id", e.capability_id()},
                       {"role", e.role()},
                       {"detail", e.detail()}});
    rows.push_back({format_time(e.time_ms()), e.action(), e.actor(), dash(e.subject()),
                    dash(short_id(e.request_id())), dash(e.detail())});
  }
  out.document({{"entries", entries}});
  if (rows.empty()) {
    out.line("no membership activity recorded for " + args.space);
  } else {
    out.table({"TIME", "ACTION", "BY", "CONCERNING", "REQUEST", "DETAIL"}, rows);
  }
  return kExitOk;
}

// A time given as a duration from now or an RFC 3339 time, in ms since the
// epoch; `flag` names it in the error.
core::Result<std::int64_t> parse_time_arg(const std::string& text, std::string_view flag) {
  if (auto lifetime = parse_duration_ms(text)) {
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    return now + *lifetime;
  }
  if (auto at = parse_rfc3339_ms(text)) return *at;
  return core::Error::invalid(std::string(flag) +
                              " takes a duration (30d, 12h, 90m, 2w) or an RFC 3339 time "
                              "(2027-01-31T18:00:00Z), not '" +
                              text + "'");
}

// "10/h" or "10": memberships per hour, 1 to 1000000.
std::optional<std::uint32_t> parse_rate(std::string text) {
  if (text.size() > 2 && text.compare(text.size() - 2, 2, "/h") == 0) {
    text.resize(text.size() - 2);
  }
  if (text.empty() || text.size() > 7) return std::nullopt;
  std::uint32_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (n == 0 || n > 1000000) return std::nullopt;
  return n;
}

std::vector<std::string> split_roles(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text) {
    if (c == ',') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else if (c != ' ') {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

std::string join_list(const google::protobuf::RepeatedPtrField<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
  return out;
}

int run_delegate(Context& ctx, const MembershipArgs& args) {
  Output out = ctx.out();
  api::DelegateRequest request;
  request.set_space(args.space);
  request.set_peer(args.peer);
  for (const auto& r : split_roles(args.roles)) request.add_roles(r);
  if (request.roles().empty()) {
    return out.fail(core::Error::invalid("--roles names at least one role, e.g. editor,viewer"));
  }
  auto expires = parse_time_arg(args.delegation_expires.empty() ? "30d" : args.delegation_expires,
                                "--expires");
  if (!expires) return out.fail(expires.error());
  request.set_expires_at_ms(*expires);
  if (args.max_member_expiry.empty()) {
    request.set_max_member_expires_at_ms(*expires);
  } else {
    auto limit = parse_time_arg(args.max_member_expiry, "--max-member-expiry");
    if (!limit) return out.fail(limit.error());
    request.set_max_member_expires_at_ms(*limit);
  }
  auto rate = parse_rate(args.rate.empty() ? "10/h" : args.rate);
  if (!rate) {
    return out.fail(
        core::Error::invalid("--rate takes memberships per hour, 1 to 1000000, as N/h "
                             "or N, not '" +
                             args.rate + "'"));
  }
  request.set_rate_per_hour(*rate);
  auto client = ctx.client();
  if (!client) return out.fail(client.error());
  auto d = membership_call(**client, &api::Membership::Stub::Delegate, request);
  if (!d) return out.fail(d.error());
  out.document({{"id", d->id()},
                {"space_id", d->space_id()},
                {"space_name", d->space_name()},
                {"owner", d->owner()},
                {"delegate", d->delegate()},
                {"roles", std::vector<std::string>(d->roles().begin(), d->roles().end())},
                {"issued_ms", d->issued_ms()},
                {"expires_ms", d->expires_ms()},
                {"max_member_expires_ms", d->max_member_expires_ms()},
                {"rate_per_hour", d->rate_per_hour()},
                {"state", d->state()}});
  out.line(d->delegate() + " may now let peers join " + d->space_id() + " as " +
           join_list(d->roles()) + "; the delegation is on its way to it");
  out.fields({{"delegation", d->id()},
              {"until", format_time(d->expires_ms())},
              {"memberships end by", format_time(d->max_member_expires_ms())},
              {"rate", std::to_string(d->rate_per_hour()) + " per hour"}});
  return kExitOk;
}

int run_revoke(Context& ctx, const MembershipArgs& args) {
  Output out = ctx.out();
  api::RevokeRequest request;
  request.set_space(args.space);
  request.set_peer(args.peer);
  if (!args.issued.empty()) {
    if (args.issued == "keep" || args.issued == "all") {
      request.set_issued(args.issued);
    } else if (args.issued.rfind("after=", 0) == 0) {
      auto after = parse_rfc3339_ms(args.issued.substr(6));
      if (!after) {
        return out.fail(core::Error::invalid(
            "--issued after=TIME takes an RFC 3339 time (after=2027-01-31T18:00:00Z), not '" +
            args.issued + "'"));
      }
      request.set_issued("after");
      request.set_after_ms(*after);
    } else {
      return out.fail(core::Error::invalid("--issued takes keep, after=TIME or all, not '" +
                                           args.issued + "'"));
    }
  }
  auto client = ctx.client();
  if (!client) return out.fail(client.error());
  auto r = membership_call(**client, &api::Membership::Stub::Revoke, request);
  if (!r) return out.fail(r.error());
  out.document({{"id", r->id()},
                {"space_id", r->space_id()},
                {"kind", r->kind()},
                {"peer", r->peer()},
                {"policy", r->policy()},
                {"after_ms", r->after_ms()},
                {"issued_ms", r->issued_ms()},
                {"recipients", r->recipients()}});
  if (r->kind() == "issuer") {
    out.line("revoked " + r->peer() + " as an issuer of " + r->space_id() +
             " (what it issued: " + r->policy() + ")");
  } else {
    out.line("revoked every membership of " + r->peer() + " in " + r->space_id());
  }
  out.line("the revocation applies here now and is on its way to " +
           std::to_string(r->recipients()) + " peer(s)");
  return kExitOk;
}

int run_members(Context& ctx, const MembershipArgs& args) {
  Output out = ctx.out();
  auto client = ctx.client();
  if (!client) return out.fail(client.error());
  api::ListMembersRequest request;
  request.set_space(args.space);
  auto reply = membership_call(**client, &api::Membership::Stub::ListMembers, request);
  if (!reply) return out.fail(reply.error());
  nlohmann::json members = nlohmann::json::array();
  std::vector<std::vector<std::string>> rows;
  for (const auto& m : reply->members()) {
    members.push_back({{"peer", m.peer()},
                       {"kind", m.kind()},
                       {"role", m.role()},
                       {"roles", std::vector<std::string>(m.roles().begin(), m.roles().end())},
                       {"issuer", m.issuer()},
                       {"capability_id", m.capability_id()},
                       {"issued_ms", m.issued_ms()},
                       {"expires_ms", m.expires_ms()},
                       {"state", m.state()},
                       {"detail", m.detail()},
                       {"access", m.access()}});
    std::string role = m.role();
    if (m.roles_size() > 0) role += " (" + join_list(m.roles()) + ")";
    rows.push_back({m.peer(), role, dash(m.issuer()),
                    m.expires_ms() > 0 ? format_time(m.expires_ms()) : "-", m.state(), m.access()});
  }
  out.document({{"members", members}});
  out.table({"PEER", "ROLE", "ISSUER", "UNTIL", "STATE", "ACCESS"}, rows);
  return kExitOk;
}

constexpr const char* kRoleHelp = "editor, viewer, member or bot";

}  // namespace

void add_membership_commands(CLI::App& app, Registry& registry) {
  auto args = std::make_shared<MembershipArgs>();

  auto* join = app.add_subcommand(
      "join", "Ask a space's owner to let this daemon join the space (the owner approves)");
  join->add_option("SPACE", args->space, "Id of the space to join")->required();
  join->add_option("--via", args->via,
                   "The owner, or a peer it delegated joins to: its peer id (12D3KooW…) or a "
                   "multiaddr "
                   "(/ip4/192.0.2.1/tcp/4001/p2p/12D3KooW…)")
      ->required();
  join->add_option("--role", args->role,
                   std::string("Role to ask for: ") + kRoleHelp + " (default: member)");
  registry.on(join, [args](Context& ctx) { return run_join(ctx, *args); });

  auto* requests = app.add_subcommand(
      "requests", "List join requests: those others sent here and those sent from here");
  requests->add_flag("--incoming", args->incoming, "Only requests to join spaces owned here");
  requests->add_flag("--outgoing", args->outgoing, "Only requests this daemon sent");
  requests->add_option("--state", args->state, "Only pending, approved, rejected or failed ones");
  registry.on(requests, [args](Context& ctx) { return run_requests(ctx, *args); });

  auto* approve = app.add_subcommand(
      "approve", "Approve a join request: issue a membership and send it to the requester");
  approve
      ->add_option("REQUEST", args->request,
                   "Request id, or its first 8 or more digits (see soma requests)")
      ->required();
  approve->add_option("--role", args->role,
                      std::string("Role to grant: ") + kRoleHelp + " (default: the one asked)");
  approve->add_option("--expires", args->expires,
                      "When the membership ends: a duration from now (30d, 12h, 2w) or an RFC "
                      "3339 time (2027-01-31T18:00:00Z); default 365d");
  registry.on(approve, [args](Context& ctx) { return run_approve(ctx, *args); });

  auto* reject = app.add_subcommand("reject", "Reject a join request and tell the requester");
  reject
      ->add_option("REQUEST", args->request,
                   "Request id, or its first 8 or more digits (see soma requests)")
      ->required();
  reject->add_option("--reason", args->reason,
                     "Why, sent to the requester (at most 256 bytes; optional)");
  registry.on(reject, [args](Context& ctx) { return run_reject(ctx, *args); });

  auto* audit = app.add_subcommand(
      "audit", "Show who asked, decided and issued what for a space, oldest first");
  audit->add_option("SPACE", args->space, "Space id or name")->required();
  audit->add_option("--limit", args->limit, "At most this many entries (default: 1000)");
  registry.on(audit, [args](Context& ctx) { return run_audit(ctx, *args); });

  auto* delegate = app.add_subcommand(
      "delegate", "Let another peer approve joins to a space you own, within limits");
  delegate->add_option("SPACE", args->space, "Space id or name")->required();
  delegate
      ->add_option("PEER", args->peer,
                   "The delegate: its peer id (12D3KooW…) or a multiaddr ending in /p2p/…")
      ->required();
  delegate
      ->add_option("--roles", args->roles,
                   std::string("Roles it may grant, comma-separated: ") + kRoleHelp)
      ->required();
  delegate->add_option("--expires", args->delegation_expires,
                       "When the delegation ends: a duration or an RFC 3339 time (default: 30d)");
  delegate->add_option("--max-member-expiry", args->max_member_expiry,
                       "No membership it grants lasts past this: a duration or an RFC 3339 time "
                       "(default: the delegation's end)");
  delegate->add_option("--rate", args->rate,
                       "At most this many memberships per hour, as N/h (default: 10/h)");
  registry.on(delegate, [args](Context& ctx) { return run_delegate(ctx, *args); });

  auto* revoke = app.add_subcommand(
      "revoke", "Withdraw a peer's memberships of a space you own, or its right to issue them");
  revoke->add_option("SPACE", args->space, "Space id or name")->required();
  revoke->add_option("PEER", args->peer, "The peer's id (12D3KooW…)")->required();
  revoke->add_option("--issued", args->issued,
                     "Revoke PEER as a delegated issuer; what it issued: keep (stays valid), "
                     "after=TIME (those issued after TIME are revoked) or all");
  registry.on(revoke, [args](Context& ctx) { return run_revoke(ctx, *args); });

  auto* members = app.add_subcommand(
      "members", "List a space's owner, members and delegates with role, issuer, expiry, state");
  members->add_option("SPACE", args->space, "Space id or name")->required();
  registry.on(members, [args](Context& ctx) { return run_members(ctx, *args); });
}

}  // namespace soma::cli
