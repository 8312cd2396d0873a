// Metrics registry and Prometheus text exposition (format 0.0.4) for every service.
//
// Model: a registry of metric families (name, help, type, label names), exposed in
// registration order. A family's samples come from one of two places:
//  - owned metrics (counter, gauge, histogram objects the registry hands out) that the
//    control thread updates directly — plain integers and doubles, no atomics, because
//    scrapes run on the control thread too;
//  - a collector callback run at scrape time, which writes the samples itself. Data-plane
//    worker counters are read this way: each worker owns its counters (single writer) and
//    the callback loads them with relaxed atomics, so workers never pay for metrics.
// Everything here runs on the control thread; the HTTP side is control/metrics_http.hpp.
// Misuse at setup (a bad name, a family registered twice with another shape) throws
// std::logic_error.
#pragma once

#include <concepts>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace tutti::ctl {

enum class metric_type : uint8_t { counter, gauge, histogram };

namespace detail {
struct metric_family;  // defined in metrics.cpp
struct owned_metric;
}  // namespace detail

// One label of an owned metric: name and value.
struct metric_label {
  std::string name;
  std::string value;
};
using metric_labels = std::vector<metric_label>;

class counter {
 public:
  void inc(uint64_t n = 1) noexcept { value_ += n; }
  uint64_t value() const noexcept { return value_; }

 private:
  uint64_t value_ = 0;
};

class gauge {
 public:
  void set(double v) noexcept { value_ = v; }
  void add(double v) noexcept { value_ += v; }
  double value() const noexcept { return value_; }

 private:
  double value_ = 0;
};

class histogram {
 public:
  // `bounds`: upper bounds of the buckets, strictly increasing; +Inf is implied.
  explicit histogram(std::vector<double> bounds);
  void observe(double v) noexcept;
  const std::vector<double>& bounds() const noexcept { return bounds_; }
  // Per-bucket counts (not cumulative); one more than bounds (the +Inf bucket).
  const std::vector<uint64_t>& buckets() const noexcept { return buckets_; }
  double sum() const noexcept { return sum_; }

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> buckets_;
  double sum_ = 0;
};

// What a collector writes its samples to. Label values are given in the order of the
// family's label names; their number must match.
class metric_writer {
 public:
  // A counter or gauge sample.
  void value(std::span<const std::string_view> labels, uint64_t v);
  void value(std::span<const std::string_view> labels, int64_t v);
  void value(std::span<const std::string_view> labels, double v);
  void value(std::initializer_list<std::string_view> labels, double v) { value(span(labels), v); }
  template <std::integral I>
  void value(std::initializer_list<std::string_view> labels, I v) {
    value(span(labels), v);
  }
  template <std::integral I>
  void value(std::span<const std::string_view> labels, I v) {
    if constexpr (std::is_signed_v<I>)
      value(labels, static_cast<int64_t>(v));
    else
      value(labels, static_cast<uint64_t>(v));
  }
  // A histogram sample: per-bucket counts (not cumulative), bounds().size() + 1 of them,
  // the last for values above every bound.
  void histogram(std::initializer_list<std::string_view> labels, std::span<const uint64_t> buckets,
                 double sum) {
    histogram(span(labels), buckets, sum);
  }
  void histogram(std::span<const std::string_view> labels, std::span<const uint64_t> buckets,
                 double sum);
  // The family's histogram bounds (empty for counters and gauges).
  std::span<const double> bounds() const noexcept;

 private:
  friend class metrics_registry;
  using family = detail::metric_family;
  metric_writer(const family& f, std::string& out) : f_(f), out_(out) {}
  static std::span<const std::string_view> span(std::initializer_list<std::string_view> l) {
    return {l.begin(), l.size()};
  }
  void sample_line(std::string_view suffix, std::span<const std::string_view> labels,
                   std::string_view le, std::string_view value);
  const family& f_;
  std::string& out_;
};

class metrics_registry {
 public:
  using collector = std::function<void(metric_writer&)>;

  metrics_registry();
  ~metrics_registry();
  metrics_registry(const metrics_registry&) = delete;
  metrics_registry& operator=(const metrics_registry&) = delete;

  // A family whose samples `collect` writes at every scrape. `bounds` only for histograms.
  void add_collector(std::string name, std::string help, metric_type type,
                     std::vector<std::string> label_names, collector collect,
                     std::vector<double> bounds = {});

  // Owned metrics. Calls with the same name and different label values add samples to one
  // family (same help, type and label names required); references stay valid until the
  // family is removed.
  counter& add_counter(std::string name, std::string help, metric_labels labels = {});
  gauge& add_gauge(std::string name, std::string help, metric_labels labels = {});
  histogram& add_histogram(std::string name, std::string help, std::vector<double> bounds,
                           metric_labels labels = {});

  // Drops a family (a service going away); false if there was none.
  bool remove(std::string_view name);

  // The text exposition of every family, in registration order.
  std::string expose() const;

  // The Content-Type of expose()'s text.
  static constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

 private:
  using family = detail::metric_family;
  family& family_for(std::string name, std::string help, metric_type type,
                     std::vector<std::string> label_names, std::vector<double> bounds);
  detail::owned_metric& add_owned(std::string name, std::string help, metric_type type,
                          metric_labels labels, std::vector<double> bounds);
  std::vector<std::unique_ptr<family>> families_;
};

}  // namespace tutti::ctl
