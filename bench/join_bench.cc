// The requester's side of the join benchmark (bench/run_join_bench.sh): N
// joins, one after another, each by a new peer with an Ed25519 identity of
// its own, sent to a daemon that approves them automatically under a
// delegation. For each join it
//   - dials the daemon (TCP, Noise, yamux): the connection setup;
//   - opens /soma/join/1, writes a signed JoinRequest announcing where it
//     listens, and reads the answer, which carries the signed decision when
//     the daemon decided at once: the join latency, from opening the stream
//     to the decision read;
//   - serves /soma/join-decision/1 and waits for the daemon's courier to
//     deliver the same decision there (the path a decision takes when it
//     is made later): the delivery latency, from the same start;
//   - verifies both copies as a requester must (cap::verify_join_decision:
//     the decider's signature, that it answers this request, and that the
//     membership capability and its embedded delegation verify for this
//     peer) and checks they are approved, for the space, for this peer, by
//     the peer the channel authenticated, with the owner the run names.
// Any join that fails a step or a check is counted; the run exits 1 if any
// did. The checks run once both copies are in, outside the timings; the
// acknowledgement waits for them, and the join's peer goes away only after
// it was sent.
//
//   join_bench ADDR SPACE_ID OWNER_PEER_ID [--count N] [--role ROLE]
//                                         [--timeout SECONDS]
//
// ADDR is the deciding daemon's multiaddr ending in /p2p/<its id>. Prints
// one "result ..." line per figure as key=value pairs. Everything runs on
// one io_context thread.

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cap/issuance.h"
#include "cap/signing.h"
#include "cap/verify.h"
#include "core/logging.h"
#include "crypto/ed25519.h"
#include "membership/wire.h"
#include "memory_capability_store.h"
#include "p2p/host/host.h"
#include "p2p/host/message.h"
#include "p2p/transport/deadline.h"

namespace {

using asio::awaitable;
using soma::core::Bytes;
using soma::core::Error;
using soma::core::Result;
using soma::crypto::PeerId;
using soma::p2p::Multiaddr;
using soma::p2p::host::Host;
using soma::p2p::transport::Stream;
using Clock = std::chrono::steady_clock;
namespace cap = soma::cap;
namespace wire = soma::membership::wire;

struct Options {
  std::string addr;
  std::string space;
  std::string owner;
  std::size_t count = 1000;
  cap::Role role = cap::Role::kViewer;
  std::chrono::seconds timeout{20};
};

// A positive whole number, or nullopt.
std::optional<std::size_t> positive(const std::string& text) {
  std::size_t value = 0;
  const char* end = text.data() + text.size();
  auto [at, error] = std::from_chars(text.data(), end, value);
  if (error != std::errc() || at != end || value == 0) return std::nullopt;
  return value;
}

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "join_bench: %s\nusage: join_bench ADDR SPACE_ID OWNER_PEER_ID [--count N] "
               "[--role ROLE] [--timeout SECONDS]\n",
               why.c_str());
  std::exit(1);
}

Options parse(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  Options o;
  std::vector<std::string> positional;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::printf(
          "join_bench ADDR SPACE_ID OWNER_PEER_ID [--count N] [--role ROLE] [--timeout "
          "SECONDS]\n\nSends N join requests, each from a new identity, to the daemon at ADDR "
          "and measures\nthe time to its signed decision. Defaults: 1000 joins, role viewer, "
          "20 s per join.\n");
      std::exit(0);
    }
    if (a.rfind("--", 0) == 0) {
      if (i + 1 >= args.size()) usage(a + " needs a value");
      const std::string& v = args[++i];
      if (a == "--count") {
        auto n = positive(v);
        if (!n) usage("--count takes a positive whole number, not \"" + v + "\"");
        o.count = *n;
      } else if (a == "--role") {
        auto role = cap::parse_role(v);
        if (!role.ok() || *role == cap::Role::kOwner)
          usage("--role takes editor, viewer or member");
        o.role = *role;
      } else if (a == "--timeout") {
        auto n = positive(v);
        if (!n) usage("--timeout takes a positive whole number of seconds, not \"" + v + "\"");
        o.timeout = std::chrono::seconds(*n);
      } else {
        usage("unknown option " + a);
      }
    } else {
      positional.push_back(a);
    }
  }
  if (positional.size() != 3) usage("expected ADDR SPACE_ID OWNER_PEER_ID");
  o.addr = positional[0];
  o.space = positional[1];
  o.owner = positional[2];
  return o;
}

double micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  auto i = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(i, values.size() - 1)];
}

cap::Timestamp now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// What the run knows beyond each join.
struct Run {
  Options options;
  Multiaddr addr;
  PeerId decider;  // the /p2p/ suffix of ADDR
  cap::SpaceRef space;
  // The requester's verification context: revocations (none reach these
  // peers) and the memberships accepted so far, so the issuer's hourly
  // rate is checked across the run as a requester that saw them would.
  cap::testing::MemoryCapabilityStore accepted;
};

// A one-shot signal between the coroutines of one join, on its loop.
struct Signal {
  explicit Signal(asio::io_context& io) : timer(io, Clock::time_point::max()) {}
  void raise() {
    raised = true;
    timer.cancel();
  }
  awaitable<void> wait() {
    if (raised) co_return;
    asio::error_code ignored;
    auto waiting = timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    co_await std::move(waiting);
  }
  bool raised = false;
  asio::steady_timer timer;
};

// The decision delivered on /soma/join-decision/1 to the current join. The
// handler stamps its arrival and hands it over; the join checks it once
// its own timings are taken and tells the handler what to acknowledge, so
// no signature check runs on the loop while a time is being measured; the
// join ends only after the acknowledgement went out, so the daemon records
// the delivery as done.
struct Delivery {
  explicit Delivery(asio::io_context& io) : arrived(io), verdict(io), acked(io) {}
  std::optional<Clock::time_point> at;
  Bytes decision;
  std::string space_name;
  std::optional<Error> refusal;  // set with the verdict when not accepted
  Signal arrived;
  Signal verdict;
  Signal acked;
  // Ends every wait, for a join that failed or ran out of time; a decision
  // not yet judged is refused.
  void abandon() {
    if (!verdict.raised && !refusal) refusal = Error::unavailable("the requester gave up the join");
    arrived.raise();
    verdict.raise();
    acked.raise();
  }
};

struct JoinTimes {
  double connect_us = 0;
  double join_us = 0;
  double delivered_us = 0;
  bool delivered_first = false;
};

// The checks a requester makes on a decision before it acts on it.
Result<cap::Signed<cap::JoinDecision>> check_decision(Run& run, const Bytes& decision,
                                                      const cap::JoinRequest& request) {
  auto verified = cap::verify_join_decision(decision, request, run.space, now_ms(), run.accepted);
  if (!verified.ok()) return verified.take_error();
  if (!verified->ok()) return verified->refusal().to_error();
  cap::Signed<cap::JoinDecision> d = std::move(verified->value());
  if (d.body.outcome != cap::JoinOutcome::kApproved) {
    return Error::denied("the decision is a rejection: " + d.body.reason);
  }
  if (d.body.space != run.space.id) return Error::invalid("the decision is for another space");
  if (d.body.requester != request.requester) {
    return Error::invalid("the decision is for another requester");
  }
  if (d.body.decider != run.decider) return Error::invalid("the decision names another decider");
  if (!d.body.capability) return Error::invalid("the approval carries no capability");
  const auto& c = d.body.capability->body;
  if (c.subject != request.requester) return Error::invalid("the capability is for another peer");
  if (c.role != request.role) return Error::invalid("the capability grants another role");
  if (c.issuer != run.decider || !c.delegation) {
    return Error::invalid("the capability was not issued under the decider's delegation");
  }
  return d;
}

void record(Run& run, const cap::Signed<cap::JoinDecision>& d) {
  const auto& signed_cap = *d.body.capability;
  const auto& c = signed_cap.body;
  cap::AcceptedCapability accepted;
  accepted.id = c.id;
  accepted.space = c.space;
  accepted.subject = c.subject;
  accepted.issuer = c.issuer;
  accepted.role = c.role;
  accepted.issued_at = c.issued_at;
  accepted.expires_at = c.expires_at;
  accepted.delegated = c.delegation.has_value();
  accepted.bytes = cap::encode_signed(signed_cap);
  (void)run.accepted.record_capability(accepted);
}

// The answer on /soma/join/1: decided at once, naming the run's owner and
// the space, with a decision that passes check_decision.
Result<cap::Signed<cap::JoinDecision>> check_answer(Run& run, const Bytes& reply,
                                                    const cap::JoinRequest& request) {
  auto answer = wire::decode_join_answer(reply);
  if (!answer.ok()) return answer.take_error();
  if (answer->status == wire::JoinAnswer::Status::kRefused) {
    return Error{answer->refusal.code, "refused: " + answer->refusal.message};
  }
  if (answer->status != wire::JoinAnswer::Status::kDecided) {
    return Error::precondition("the daemon left the request pending, not decided at once");
  }
  if (answer->owner != run.space.owner.to_string()) {
    return Error::invalid("the answer names another owner: " + answer->owner);
  }
  if (answer->space_name.empty()) return Error::invalid("the approval names no space");
  return check_decision(run, answer->decision, request);
}

// One join by a new peer. Names every co_awaited operation (see
// src/membership/join_protocol.cc on GCC 12 and temporaries).
awaitable<Result<JoinTimes>> join_once(asio::io_context& io, Run& run) {
  const auto key = soma::crypto::Ed25519PrivateKey::generate();
  auto made = Host::create(io, key);
  if (!made.ok()) co_return made.take_error();
  std::shared_ptr<Host> host = *made;
  struct Closer {
    std::shared_ptr<Host> host;
    std::shared_ptr<Delivery> delivery;
    ~Closer() {
      host->close();
      if (delivery) delivery->abandon();
    }
  } closer{host, nullptr};

  auto bound = host->listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value());
  if (!bound.ok()) co_return bound.take_error();

  auto delivery = std::make_shared<Delivery>(io);
  closer.delivery = delivery;
  auto signed_request = cap::request_join(key, run.space.id, run.options.role, now_ms());
  if (!signed_request.ok()) co_return signed_request.take_error();
  const cap::JoinRequest request = signed_request->body;

  const PeerId decider = run.decider;
  auto served = host->set_handler(
      std::string(wire::kDecisionProtocol), [delivery, decider](Stream stream) -> awaitable<void> {
        auto reading = soma::p2p::host::read_message(stream, wire::kMaxMessageSize);
        auto message = co_await std::move(reading);
        if (!message.ok()) {
          stream.reset();
          co_return;
        }
        auto decoded = wire::decode_decision(*message);
        wire::DecisionAck ack;
        const bool first = !delivery->at;
        if (!decoded.ok()) {
          ack.refusal = decoded.error();
        } else if (stream.remote_peer() != decider) {
          ack.refusal = Error::denied("this request went to another peer");
        } else if (!first) {
          ack.refusal = Error::exists("this decision was delivered already");
        } else {
          delivery->at = Clock::now();
          delivery->decision = std::move(decoded->decision);
          delivery->space_name = std::move(decoded->space_name);
          delivery->arrived.raise();
          auto judging = delivery->verdict.wait();
          co_await std::move(judging);
          ack.accepted = !delivery->refusal;
          if (delivery->refusal) ack.refusal = *delivery->refusal;
        }
        // Named: write_message keeps a view of the bytes across its suspension.
        const Bytes encoded = wire::encode(ack);
        auto writing = soma::p2p::host::write_message(stream, encoded);
        auto sent = co_await std::move(writing);
        if (sent.ok()) sent = stream.close_write();
        if (first && decoded.ok()) delivery->acked.raise();
      });
  if (!served.ok()) co_return served.take_error();

  // A join that takes longer than the timeout ends: its host's streams
  // fail and the wait for the delivery stops.
  soma::p2p::transport::Deadline deadline(io.get_executor());
  deadline.arm(run.options.timeout, [host, delivery]() {
    host->close();
    delivery->abandon();
  });

  JoinTimes times;
  const auto t0 = Clock::now();
  auto connecting = host->connect(run.addr);
  auto connection = co_await std::move(connecting);
  if (!connection.ok()) co_return connection.take_error();
  const auto t1 = Clock::now();
  times.connect_us = micros(t1 - t0);
  if ((*connection)->remote_peer() != run.decider) {
    co_return Error::invalid("the daemon at ADDR is another peer");
  }

  std::vector<std::string> protocols{std::string(wire::kJoinProtocol)};
  std::vector<std::string> addrs{bound->to_string() + "/p2p/" + host->peer_id().to_string()};
  const Bytes message =
      wire::encode(wire::JoinRequestMessage{cap::encode_signed(*signed_request), addrs});
  const auto t_send = Clock::now();
  auto opening = host->new_stream(*connection, std::move(protocols));
  auto opened = co_await std::move(opening);
  if (!opened.ok()) co_return opened.take_error();
  Stream stream = *opened;
  auto writing = soma::p2p::host::write_message(stream, message);
  auto written = co_await std::move(writing);
  if (!written.ok()) co_return written.take_error();
  if (auto closed = stream.close_write(); !closed.ok()) co_return closed.take_error();
  auto reading = soma::p2p::host::read_message(stream, wire::kMaxMessageSize);
  auto reply = co_await std::move(reading);
  if (!reply.ok()) co_return reply.take_error();
  const auto t_answer = Clock::now();
  times.join_us = micros(t_answer - t_send);
  times.delivered_first = delivery->at.has_value();

  // A refusal or a pending request ends the join at once (decoding costs
  // nothing next to the signature checks, which wait for the delivery).
  auto status = wire::decode_join_answer(*reply);
  if (!status.ok()) co_return status.take_error();
  if (status->status != wire::JoinAnswer::Status::kDecided) {
    auto judged = check_answer(run, *reply, request);
    co_return judged.ok() ? Error::internal("an undecided answer passed the checks")
                          : judged.take_error();
  }

  // The delivery, when it did not come first; then the checks.
  auto waiting = delivery->arrived.wait();
  co_await std::move(waiting);
  if (delivery->at) times.delivered_us = micros(*delivery->at - t_send);
  auto checked = check_answer(run, *reply, request);
  if (!delivery->at) {
    co_return Error::unavailable("the decision was not delivered on /soma/join-decision/1 in time");
  }
  if (checked.ok()) {
    auto delivered = check_decision(run, delivery->decision, request);
    if (!delivered.ok()) {
      delivery->refusal = delivered.error();
    } else if (delivery->decision != cap::encode_signed(*checked) || delivery->space_name.empty()) {
      delivery->refusal = Error::invalid("the delivered decision is not the one in the answer");
    }
  } else {
    delivery->refusal = checked.error();
  }
  delivery->verdict.raise();
  auto acking = delivery->acked.wait();
  co_await std::move(acking);
  deadline.cancel();
  if (!checked.ok()) co_return checked.take_error();
  if (delivery->refusal) co_return *delivery->refusal;
  record(run, *checked);
  co_return times;
}

awaitable<int> run_all(asio::io_context& io, Run& run) {
  std::vector<double> connect_us, join_us, delivered_us;
  std::size_t failures = 0, delivered_first = 0;
  const auto start = Clock::now();
  for (std::size_t i = 0; i < run.options.count; ++i) {
    auto joining = join_once(io, run);
    auto joined = co_await std::move(joining);
    if (!joined.ok()) {
      ++failures;
      std::fprintf(stderr, "join_bench: join %zu failed: %s\n", i + 1,
                   joined.error().message.c_str());
      continue;
    }
    connect_us.push_back(joined->connect_us);
    join_us.push_back(joined->join_us);
    delivered_us.push_back(joined->delivered_us);
    if (joined->delivered_first) ++delivered_first;
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const std::size_t ok = join_us.size();

  // The first and last tenth apart, to show whether a join gets slower as
  // the daemon's tables grow.
  const std::size_t tenth = std::max<std::size_t>(1, ok / 10);
  std::vector<double> first(join_us.begin(), join_us.begin() + std::min(tenth, ok));
  std::vector<double> last(join_us.end() - std::min(tenth, ok), join_us.end());

  std::printf(
      "result joins count=%zu failures=%zu median_us=%.0f p99_us=%.0f max_us=%.0f "
      "joins_per_s=%.1f\n",
      ok, failures, percentile(join_us, 0.5), percentile(join_us, 0.99), percentile(join_us, 1.0),
      static_cast<double>(ok) / seconds);
  std::printf("result connect count=%zu median_us=%.0f p99_us=%.0f max_us=%.0f\n", ok,
              percentile(connect_us, 0.5), percentile(connect_us, 0.99),
              percentile(connect_us, 1.0));
  std::printf(
      "result delivered count=%zu median_us=%.0f p99_us=%.0f max_us=%.0f before_answer=%zu\n", ok,
      percentile(delivered_us, 0.5), percentile(delivered_us, 0.99), percentile(delivered_us, 1.0),
      delivered_first);
  std::printf("result drift first_tenth_median_us=%.0f last_tenth_median_us=%.0f\n",
              percentile(first, 0.5), percentile(last, 0.5));
  std::fflush(stdout);
  co_return failures == 0 && ok == run.options.count ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  soma::core::init_logging("join_bench", "warn");
  Options options = parse(argc, argv);
  auto addr = Multiaddr::parse(options.addr);
  if (!addr.ok()) usage("ADDR: " + addr.error().message);
  auto decider = addr->peer_id();
  if (!decider) usage("ADDR must end in /p2p/<peer id>");
  auto owner = PeerId::parse(options.owner);
  if (!owner.ok()) usage("OWNER_PEER_ID: " + owner.error().message);

  auto run = std::make_unique<Run>();
  run->options = options;
  run->addr = *addr;
  run->decider = *decider;
  run->space = cap::SpaceRef{options.space, *owner};

  asio::io_context io;
  int status = 1;
  asio::co_spawn(io, run_all(io, *run), [&status](std::exception_ptr e, int result) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        std::fprintf(stderr, "join_bench: %s\n", ex.what());
      }
      return;
    }
    status = result;
  });
  io.run();
  return status;
}
