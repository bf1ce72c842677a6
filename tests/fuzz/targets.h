#pragma once

#include <cstddef>
#include <cstdint>

// The fuzz targets' bodies, shared by the libFuzzer entry points (clang builds) and the
// corpus replay unit test (every build). Each returns 0 and must never crash, leak or
// trip a sanitizer, whatever the bytes.
namespace hookpipe::fuzz {

// Compiles the bytes as a filter; when they compile, evaluates the filter on a few
// fixed events.
int filterOne(const uint8_t* data, std::size_t size);
// Validates the bytes as an event (json::EventParser); when valid, routes it through an
// index of subscriptions with tenants and filters, and checks the index against a
// linear scan.
int eventOne(const uint8_t* data, std::size_t size);
// Checks the bytes as a subscription (create, update and stored rules); an accepted one
// survives its stored form (toJson -> parseSubscription) with the same id and URL.
int subscriptionOne(const uint8_t* data, std::size_t size);
// Parses the bytes as an event type (strict and lenient); an accepted one survives its
// stored form; the bytes as a name give a verdict without crashing.
int eventTypeOne(const uint8_t* data, std::size_t size);
// Dead-letter selections: the bytes as the query string of GET /v1/dead-letters, as the
// body of POST /v1/dead-letters/replay, and, split on newlines, as `hookpipe dlq` flags and
// their values (times, rates, partition:offset, counts).
int deadLetterQueryOne(const uint8_t* data, std::size_t size);
// The bytes as a request target: query string, path segments, percent-decoding, paging.
int queryStringOne(const uint8_t* data, std::size_t size);
// The bytes as the query string of the delivery-log listing, its export and the stats
// routes, and as a log cursor: every problem names a parameter, an accepted query is within
// its bounds, a decoded cursor encodes back to the same bytes.
int deliveryLogQueryOne(const uint8_t* data, std::size_t size);
// The bytes as a Retry-After header value: never a negative wait.
int retryAfterOne(const uint8_t* data, std::size_t size);
// The bytes as a platform's answer (first byte: the platform, second: the status, the rest:
// the body head, at most 1 KiB): webhook::judge() never delivers a 4xx/5xx, never waits a
// negative time, never makes a 429 or 5xx permanent.
int platformAnswerOne(const uint8_t* data, std::size_t size);
// The bytes as "NAME=value" lines for HOOKPIPE_* variables (a fixed list, minus those that
// name files): Config::fromEnv() and validate(); the environment is restored afterwards.
int configOne(const uint8_t* data, std::size_t size);
// Parses the bytes as an attempt log record (attempts::parse); an accepted one survives its
// encoding (valid UTF-8 JSON, the same fields when parsed back).
int attemptRecordOne(const uint8_t* data, std::size_t size);

// The bytes up to the first NUL as a template (format "template"), the rest as an event:
// a template either compiles or its problem says where; rendered over that event and the
// fixed ones, with the default and with small limits, a body never passes its limits.
int templateOne(const uint8_t* data, std::size_t size);

}  // namespace hookpipe::fuzz
