#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace soma::core {

// The closed set of failure kinds every layer reports. Each maps onto one
// gRPC status code at the API boundary and one CLI exit code.
enum class ErrorCode {
  kInvalidArgument,     // the caller's input is wrong; retrying it won't help
  kNotFound,            // the named thing does not exist
  kAlreadyExists,       // creating something that is already there
  kPermissionDenied,    // the caller may not do this
  kResourceExhausted,   // a size limit, quota or rate was reached
  kFailedPrecondition,  // the state does not allow it (e.g. data dir locked)
  kDataLoss,            // bytes do not match what names them, or storage is corrupt
  kUnavailable,         // a peer or the daemon cannot be reached
  kCancelled,           // the caller gave up
  kInternal,            // our own fault
};

std::string_view to_string(ErrorCode code);

// An error is a value: a code and a message a person can act on.
struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;

  static Error invalid(std::string msg) { return {ErrorCode::kInvalidArgument, std::move(msg)}; }
  static Error not_found(std::string msg) { return {ErrorCode::kNotFound, std::move(msg)}; }
  static Error exists(std::string msg) { return {ErrorCode::kAlreadyExists, std::move(msg)}; }
  static Error denied(std::string msg) { return {ErrorCode::kPermissionDenied, std::move(msg)}; }
  static Error exhausted(std::string msg) { return {ErrorCode::kResourceExhausted, std::move(msg)}; }
  static Error precondition(std::string msg) {
    return {ErrorCode::kFailedPrecondition, std::move(msg)};
  }
  static Error data_loss(std::string msg) { return {ErrorCode::kDataLoss, std::move(msg)}; }
  static Error unavailable(std::string msg) { return {ErrorCode::kUnavailable, std::move(msg)}; }
  static Error cancelled(std::string msg) { return {ErrorCode::kCancelled, std::move(msg)}; }
  static Error internal(std::string msg) { return {ErrorCode::kInternal, std::move(msg)}; }
};

// Result<T> holds either a value or an Error. Result<void> is the status-only form.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<1>(v_); }
  Error&& take_error() { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }
  Error&& take_error() { return std::move(error_); }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace soma::core

// Propagates the error of a Result-returning expression.
#define SOMA_TRY(expr)                                  \
  do {                                                  \
    auto soma_try_result_ = (expr);                     \
    if (!soma_try_result_.ok()) return soma_try_result_.take_error(); \
  } while (0)
