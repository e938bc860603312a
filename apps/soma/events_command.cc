// soma events [--after ID] [--follow]
#include <iostream>

#include "commands.h"

namespace soma::cli {
namespace {

std::string event_line(const api::Event& e) {
  std::string line = std::to_string(e.id()) + "  " + format_time(e.time_ms()) + "  " + e.kind();
  if (!e.space_id().empty()) line += "  space=" + e.space_id();
  if (!e.subject().empty()) line += "  " + e.subject();
  if (!e.detail().empty()) line += "  " + e.detail();
  return line;
}

}  // namespace

void add_events_command(CLI::App& app, Registry& registry) {
  struct EventArgs {
    std::uint64_t after = 0;
    bool follow = false;
  };
  auto args = std::make_shared<EventArgs>();
  auto* events =
      app.add_subcommand("events",
                         "Print stored events, and with --follow new ones as they happen "
                         "(--json: one document; with --follow one JSON line per event)");
  events->add_option("--after", args->after, "Only events with a larger id (to resume)");
  events->add_flag("--follow", args->follow, "Keep waiting for new events");
  registry.on(events, [args](Context& ctx) {
    Output out = ctx.out();
    auto client = ctx.client();
    if (!client) return out.fail(client.error());
    api::WatchEventsRequest request;
    request.set_after_id(args->after);
    request.set_follow(args->follow);
    auto call = (*client)->context(/*streaming=*/true);
    auto reader = (*client)->stub().WatchEvents(call.get(), request);
    api::Event event;
    nlohmann::json list = nlohmann::json::array();
    while (reader->Read(&event)) {
      if (out.json() && args->follow) {
        std::cout << to_json(event).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                  << std::endl;
      } else if (out.json()) {
        list.push_back(to_json(event));
      } else {
        std::cout << escape_control(event_line(event)) << std::endl;
      }
    }
    grpc::Status status = reader->Finish();
    if (!status.ok()) return out.fail((*client)->error(status));
    if (!args->follow) out.document({{"events", list}});
    return static_cast<int>(kExitOk);
  });
}

}  // namespace soma::cli
