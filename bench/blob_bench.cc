// The CPU floor of adding a blob: SHA-256 over 256 KiB chunks, and the
// whole UnixFS DAG build that names a blob. Compare with
// `openssl speed -evp sha256 -bytes 262144`.
#include <benchmark/benchmark.h>

#include <random>

#include "blob/dag_builder.h"
#include "crypto/sha256.h"

namespace {

soma::core::Bytes random_data(std::size_t n) {
  std::mt19937_64 rng(42);
  soma::core::Bytes out(n);
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  return out;
}

void BM_Sha256Chunks(benchmark::State& state) {
  auto data = random_data(soma::blob::kChunkSize);
  for (auto _ : state) {
    benchmark::DoNotOptimize(soma::crypto::sha256(data));
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_Sha256Chunks);

void BM_DagBuild(benchmark::State& state) {
  auto data = random_data(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    soma::blob::DagBuilder builder({}, false);
    for (std::size_t off = 0; off < data.size(); off += 1 << 20) {
      std::size_t n = std::min<std::size_t>(1 << 20, data.size() - off);
      builder.update(soma::core::ByteView(data).subspan(off, n));
    }
    benchmark::DoNotOptimize(builder.finish());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_DagBuild)->Arg(64 << 20);

}  // namespace

BENCHMARK_MAIN();
