#include "control/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace tutti::ctl {

struct detail::owned_metric {
  std::vector<std::string> label_values;
  std::unique_ptr<ctl::counter> c;
  std::unique_ptr<ctl::gauge> g;
  std::unique_ptr<ctl::histogram> h;
};

struct detail::metric_family {
  std::string name;
  std::string help;
  metric_type type;
  std::vector<std::string> label_names;
  std::vector<double> bounds;
  metrics_registry::collector collect;  // empty for owned families
  std::vector<std::unique_ptr<detail::owned_metric>> owned;
};

namespace {

bool valid_metric_name(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool valid_label_name(std::string_view s) {
  if (s.empty() || s.starts_with("__")) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

// Go's strconv 'g' -1 would do as well: any float syntax Prometheus parses is allowed.
std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

template <std::integral I>
std::string format_value(I v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

// HELP text escapes backslash and newline; label values also escape the double quote.
void append_escaped(std::string& out, std::string_view s, bool quote) {
  for (char c : s) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (quote && c == '"')
      out += "\\\"";
    else
      out += c;
  }
}

std::string_view type_name(metric_type t) {
  switch (t) {
    case metric_type::counter: return "counter";
    case metric_type::gauge: return "gauge";
    case metric_type::histogram: return "histogram";
  }
  return "untyped";
}

void check_bounds(const std::vector<double>& b) {
  for (size_t i = 0; i < b.size(); ++i)
    if (!std::isfinite(b[i]) || (i > 0 && b[i] <= b[i - 1]))
      throw std::logic_error("histogram bounds must be finite and strictly increasing");
}

}  // namespace

histogram::histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  check_bounds(bounds_);
  buckets_.assign(bounds_.size() + 1, 0);
}

void histogram::observe(double v) noexcept {
  // Bucket i holds bounds[i-1] < v <= bounds[i] (the le="bounds[i]" bucket).
  size_t i = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  ++buckets_[i];
  sum_ += v;
}

std::span<const double> metric_writer::bounds() const noexcept { return f_.bounds; }

void metric_writer::sample_line(std::string_view suffix, std::span<const std::string_view> labels,
                                std::string_view le, std::string_view value) {
  out_ += f_.name;
  out_ += suffix;
  if (!labels.empty() || !le.empty()) {
    out_ += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i) out_ += ',';
      out_ += f_.label_names[i];
      out_ += "=\"";
      append_escaped(out_, labels[i], true);
      out_ += '"';
    }
    if (!le.empty()) {
      if (!labels.empty()) out_ += ',';
      out_ += "le=\"";
      out_ += le;
      out_ += '"';
    }
    out_ += '}';
  }
  out_ += ' ';
  out_ += value;
  out_ += '\n';
}

void metric_writer::value(std::span<const std::string_view> labels, uint64_t v) {
  if (f_.type == metric_type::histogram || labels.size() != f_.label_names.size())
    throw std::logic_error("metric " + f_.name + ": sample does not fit its family");
  sample_line("", labels, "", format_value(v));
}

void metric_writer::value(std::span<const std::string_view> labels, int64_t v) {
  if (f_.type == metric_type::histogram || labels.size() != f_.label_names.size())
    throw std::logic_error("metric " + f_.name + ": sample does not fit its family");
  sample_line("", labels, "", format_value(v));
}

void metric_writer::value(std::span<const std::string_view> labels, double v) {
  if (f_.type == metric_type::histogram || labels.size() != f_.label_names.size())
    throw std::logic_error("metric " + f_.name + ": sample does not fit its family");
  sample_line("", labels, "", format_value(v));
}

void metric_writer::histogram(std::span<const std::string_view> labels,
                              std::span<const uint64_t> buckets, double sum) {
  if (f_.type != metric_type::histogram || labels.size() != f_.label_names.size() ||
      buckets.size() != f_.bounds.size() + 1)
    throw std::logic_error("metric " + f_.name + ": sample does not fit its family");
  uint64_t cumulative = 0;
  for (size_t i = 0; i < f_.bounds.size(); ++i) {
    cumulative += buckets[i];
    sample_line("_bucket", labels, format_value(f_.bounds[i]), format_value(cumulative));
  }
  cumulative += buckets.back();
  sample_line("_bucket", labels, "+Inf", format_value(cumulative));
  sample_line("_sum", labels, "", format_value(sum));
  sample_line("_count", labels, "", format_value(cumulative));
}

metrics_registry::metrics_registry() = default;
metrics_registry::~metrics_registry() = default;

metrics_registry::family& metrics_registry::family_for(std::string name, std::string help,
                                                       metric_type type,
                                                       std::vector<std::string> label_names,
                                                       std::vector<double> bounds) {
  for (auto& f : families_) {
    if (f->name != name) continue;
    if (f->help != help || f->type != type || f->label_names != label_names || f->bounds != bounds ||
        f->collect)
      throw std::logic_error("metric " + name + " registered twice with different shapes");
    return *f;
  }
  if (!valid_metric_name(name)) throw std::logic_error("bad metric name '" + name + "'");
  for (auto& l : label_names)
    if (!valid_label_name(l) || (type == metric_type::histogram && l == "le"))
      throw std::logic_error("metric " + name + ": bad label name '" + l + "'");
  if (type == metric_type::histogram)
    check_bounds(bounds);
  else if (!bounds.empty())
    throw std::logic_error("metric " + name + ": only histograms have bounds");
  auto f = std::make_unique<family>();
  f->name = std::move(name);
  f->help = std::move(help);
  f->type = type;
  f->label_names = std::move(label_names);
  f->bounds = std::move(bounds);
  families_.push_back(std::move(f));
  return *families_.back();
}

void metrics_registry::add_collector(std::string name, std::string help, metric_type type,
                                     std::vector<std::string> label_names, collector collect,
                                     std::vector<double> bounds) {
  for (auto& f : families_)
    if (f->name == name) throw std::logic_error("metric " + name + " registered twice");
  if (!collect) throw std::logic_error("metric " + name + " has no collector");
  family& f = family_for(std::move(name), std::move(help), type, std::move(label_names),
                         std::move(bounds));
  f.collect = std::move(collect);
}

detail::owned_metric& metrics_registry::add_owned(std::string name, std::string help,
                                                            metric_type type, metric_labels labels,
                                                            std::vector<double> bounds) {
  std::vector<std::string> names, values;
  for (auto& l : labels) {
    names.push_back(std::move(l.name));
    values.push_back(std::move(l.value));
  }
  family& f = family_for(std::move(name), std::move(help), type, std::move(names), bounds);
  for (auto& s : f.owned)
    if (s->label_values == values)
      throw std::logic_error("metric " + f.name + " registered twice with the same labels");
  auto s = std::make_unique<detail::owned_metric>();
  s->label_values = std::move(values);
  switch (type) {
    case metric_type::counter: s->c = std::make_unique<ctl::counter>(); break;
    case metric_type::gauge: s->g = std::make_unique<ctl::gauge>(); break;
    case metric_type::histogram: s->h = std::make_unique<ctl::histogram>(std::move(bounds)); break;
  }
  f.owned.push_back(std::move(s));
  return *f.owned.back();
}

counter& metrics_registry::add_counter(std::string name, std::string help, metric_labels labels) {
  return *add_owned(std::move(name), std::move(help), metric_type::counter, std::move(labels), {}).c;
}

gauge& metrics_registry::add_gauge(std::string name, std::string help, metric_labels labels) {
  return *add_owned(std::move(name), std::move(help), metric_type::gauge, std::move(labels), {}).g;
}

histogram& metrics_registry::add_histogram(std::string name, std::string help,
                                           std::vector<double> bounds, metric_labels labels) {
  return *add_owned(std::move(name), std::move(help), metric_type::histogram, std::move(labels),
                    std::move(bounds))
              .h;
}

bool metrics_registry::remove(std::string_view name) {
  auto it = std::find_if(families_.begin(), families_.end(), [&](auto& f) { return f->name == name; });
  if (it == families_.end()) return false;
  families_.erase(it);
  return true;
}

std::string metrics_registry::expose() const {
  std::string out;
  for (auto& fp : families_) {
    const family& f = *fp;
    out += "# HELP ";
    out += f.name;
    out += ' ';
    append_escaped(out, f.help, false);
    out += "\n# TYPE ";
    out += f.name;
    out += ' ';
    out += type_name(f.type);
    out += '\n';
    metric_writer w(f, out);
    if (f.collect) {
      f.collect(w);
      continue;
    }
    for (auto& s : f.owned) {
      std::vector<std::string_view> labels(s->label_values.begin(), s->label_values.end());
      if (s->c)
        w.value(labels, s->c->value());
      else if (s->g)
        w.value(labels, s->g->value());
      else
        w.histogram(labels, s->h->buckets(), s->h->sum());
    }
  }
  return out;
}

}  // namespace tutti::ctl
