#include <unistd.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "commands.h"

namespace soma::cli {

core::Result<Client*> Context::client() {
  if (!client_) {
    auto connected = Client::connect(endpoint());
    if (!connected) return connected.take_error();
    client_ = std::move(*connected);
  }
  return client_.get();
}

core::Result<std::string> read_input(const std::string& path, std::uint64_t max_bytes) {
  std::string out;
  char buf[1 << 16];
  auto too_big = [&] {
    return core::Error::invalid((path == "-" ? std::string("standard input") : path) +
                                " is larger than " + format_bytes(max_bytes));
  };
  if (path == "-") {
    for (;;) {
      ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
      if (n < 0) {
        if (errno == EINTR) continue;
        return core::Error::invalid("cannot read standard input");
      }
      if (n == 0) break;
      if (out.size() + static_cast<std::size_t>(n) > max_bytes) return too_big();
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::Error::not_found("cannot open " + path);
  while (in) {
    in.read(buf, sizeof buf);
    auto n = static_cast<std::size_t>(in.gcount());
    if (out.size() + n > max_bytes) return too_big();
    out.append(buf, n);
  }
  if (in.bad()) return core::Error::invalid("cannot read " + path);
  return out;
}

core::Result<api::Space> find_space(Client& client, const std::string& space) {
  api::GetSpaceRequest request;
  request.set_space(space);
  return client.call(&api::Daemon::Stub::GetSpace, request);
}

}  // namespace soma::cli
