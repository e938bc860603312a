// Measures a running soma-daemon over its Unix socket: UploadBlob and
// ReadBlob throughput, and Status round-trip latency.
//
//   api_bench SOCKET [--blob-mib N] [--status-calls N]

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "soma/api/v1/daemon.grpc.pb.h"

namespace {

namespace api = soma::api::v1;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

int fail(const char* what, const grpc::Status& s) {
  std::fprintf(stderr, "api_bench: %s failed: %s\n", what, s.error_message().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help") {
    std::printf("usage: api_bench SOCKET [--blob-mib N] [--status-calls N]\n");
    return argc < 2 ? 1 : 0;
  }
  std::string socket = argv[1];
  std::size_t blob_mib = 256;
  int status_calls = 10'000;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--blob-mib") blob_mib = std::strtoul(argv[i + 1], nullptr, 10);
    if (flag == "--status-calls") status_calls = std::atoi(argv[i + 1]);
  }

  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(8 << 20);
  auto stub = api::Daemon::NewStub(
      grpc::CreateCustomChannel("unix:" + socket, grpc::InsecureChannelCredentials(), args));

  // Status latency.
  std::vector<double> micros;
  micros.reserve(static_cast<std::size_t>(status_calls));
  for (int i = 0; i < status_calls; ++i) {
    grpc::ClientContext ctx;
    api::StatusReply reply;
    auto t = Clock::now();
    auto s = stub->Status(&ctx, api::StatusRequest(), &reply);
    micros.push_back(seconds_since(t) * 1e6);
    if (!s.ok()) return fail("Status", s);
  }
  std::sort(micros.begin(), micros.end());
  std::printf("status_calls=%d median_us=%.1f p99_us=%.1f\n", status_calls,
              micros[micros.size() / 2], micros[micros.size() * 99 / 100]);

  // A space to charge the blob to.
  std::string space_id;
  {
    grpc::ClientContext ctx;
    api::CreateSpaceRequest req;
    req.set_name("bench-" + std::to_string(std::random_device()()));
    api::Space space;
    auto s = stub->CreateSpace(&ctx, req, &space);
    if (!s.ok()) return fail("CreateSpace", s);
    space_id = space.id();
  }

  // Upload throughput: fresh random bytes so the blob is new.
  std::string chunk(1 << 20, '\0');
  std::mt19937_64 rng(std::random_device{}());
  const std::size_t total = blob_mib << 20;
  api::BlobInfo info;
  {
    grpc::ClientContext ctx;
    auto t = Clock::now();
    auto writer = stub->UploadBlob(&ctx, &info);
    api::UploadBlobRequest head;
    head.mutable_header()->set_space(space_id);
    head.mutable_header()->set_size(total);
    writer->Write(head);
    for (std::size_t sent = 0; sent < total; sent += chunk.size()) {
      for (std::size_t i = 0; i < chunk.size(); i += 8) {
        std::uint64_t v = rng();
        std::copy_n(reinterpret_cast<const char*>(&v), 8, &chunk[i]);
      }
      api::UploadBlobRequest part;
      part.set_data(chunk);
      writer->Write(part);
    }
    writer->WritesDone();
    auto s = writer->Finish();
    if (!s.ok()) return fail("UploadBlob", s);
    double secs = seconds_since(t);
    std::printf("upload_mib=%zu seconds=%.3f mb_per_s=%.1f cid=%s\n", blob_mib, secs,
                static_cast<double>(total) / secs / 1e6, info.cid().c_str());
  }

  // Read throughput, every chunk verified by the daemon before it is sent.
  {
    grpc::ClientContext ctx;
    api::ReadBlobRequest req;
    req.set_cid(info.cid());
    auto t = Clock::now();
    auto reader = stub->ReadBlob(&ctx, req);
    api::ReadBlobReply part;
    std::size_t got = 0;
    while (reader->Read(&part)) got += part.data().size();
    auto s = reader->Finish();
    if (!s.ok()) return fail("ReadBlob", s);
    double secs = seconds_since(t);
    std::printf("read_mib=%zu seconds=%.3f mb_per_s=%.1f\n", got >> 20, secs,
                static_cast<double>(got) / secs / 1e6);
  }
  return 0;
}
