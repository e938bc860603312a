#include "p2p/noise/verified_static_keys.h"

namespace soma::p2p::noise {

VerifiedStaticKeys::VerifiedStaticKeys(std::size_t capacity) : capacity_(capacity) {}

std::string VerifiedStaticKeys::entry(core::ByteView identity_key, core::ByteView static_key,
                                      core::ByteView signature) {
  // Length-prefixed so no two different triples make the same entry.
  std::string out;
  out.reserve(3 * 2 + identity_key.size() + static_key.size() + signature.size());
  for (core::ByteView part : {identity_key, static_key, signature}) {
    out.push_back(static_cast<char>(part.size() >> 8));
    out.push_back(static_cast<char>(part.size() & 0xff));
    out.append(reinterpret_cast<const char*>(part.data()), part.size());
  }
  return out;
}

bool VerifiedStaticKeys::contains(core::ByteView identity_key, core::ByteView static_key,
                                  core::ByteView signature) {
  const std::string key = entry(identity_key, static_key, signature);
  std::lock_guard lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) return false;
  order_.splice(order_.begin(), order_, it->second);
  return true;
}

void VerifiedStaticKeys::add(core::ByteView identity_key, core::ByteView static_key,
                             core::ByteView signature) {
  if (capacity_ == 0) return;
  std::string key = entry(identity_key, static_key, signature);
  std::lock_guard lock(mu_);
  if (auto it = index_.find(key); it != index_.end()) {
    order_.splice(order_.begin(), order_, it->second);
    return;
  }
  while (index_.size() >= capacity_) {
    index_.erase(order_.back());
    order_.pop_back();
  }
  order_.push_front(std::move(key));
  index_.emplace(order_.front(), order_.begin());
}

std::size_t VerifiedStaticKeys::size() const {
  std::lock_guard lock(mu_);
  return index_.size();
}

VerifiedStaticKeys& VerifiedStaticKeys::shared() {
  static VerifiedStaticKeys memo;
  return memo;
}

}  // namespace soma::p2p::noise
