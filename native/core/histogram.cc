// Histogram statistics and its sparse JSON export.
#include "histogram.h"

#include <cmath>
#include <cstring>

#include "json.h"

namespace isoprobe {

void Histogram::reset() {
  std::memset(counts_, 0, sizeof counts_);
  count_ = 0;
  min_ = UINT64_MAX;
  max_ = 0;
  sum_ = 0;
  sumsq_ = 0;
}

void Histogram::merge(const Histogram& o) {
  for (int i = 0; i < kBuckets; i++) counts_[i] += o.counts_[i];
  count_ += o.count_;
  if (o.count_ && o.min_ < min_) min_ = o.min_;
  if (o.max_ > max_) max_ = o.max_;
  sum_ += o.sum_;
  sumsq_ += o.sumsq_;
}

double Histogram::stdev() const {
  if (count_ < 2) return 0;
  // Exact integer sums; the subtraction is done in long double from exact inputs.
  long double n = (long double)count_;
  long double s = (long double)sum_;
  long double var = ((long double)sumsq_ - s * s / n) / (n - 1);
  return var > 0 ? double(std::sqrt(var)) : 0;
}

uint64_t Histogram::percentile(double p) const {
  if (!count_) return 0;
  uint64_t rank = uint64_t(std::ceil(p / 100.0 * double(count_)));
  if (rank < 1) rank = 1;
  if (rank > count_) rank = count_;
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; i++) {
    seen += counts_[i];
    if (seen >= rank) {
      uint64_t lo = bucket_low(i), hi = bucket_high(i);
      uint64_t mid = lo + (hi - lo) / 2;
      if (mid < min_) mid = min_;
      if (mid > max_) mid = max_;
      return mid;
    }
  }
  return max_;
}

static const double kPercentiles[] = {1, 5, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99};
static const char* kPercentileKeys[] = {"1", "5", "10", "25", "50", "75", "90", "95", "99", "99.9", "99.99"};

void Histogram::write_buckets_json(JsonWriter& w) const {
  w.begin_object();
  w.kv("scheme", "log-linear");
  w.kv("sub_bucket_bits", kSubBits);
  w.kv("max_exponent", kMaxExp);
  w.kv("count", count_);
  w.kv("min", min());
  w.kv("max", max_);
  w.kv("sum", double(sum_));
  w.kv("sumsq", double(sumsq_));
  w.key("buckets");
  w.begin_array();
  for (int i = 0; i < kBuckets; i++) {
    if (!counts_[i]) continue;
    w.begin_array();
    w.value(uint64_t(i));
    w.value(counts_[i]);
    w.end_array();
  }
  w.end_array();
  w.end_object();
}

void Histogram::write_json(JsonWriter& w) const {
  w.begin_object();
  w.kv("count", count_);
  w.kv("min", min());
  w.kv("mean", mean());
  w.kv("stdev", stdev());
  w.kv("max", max_);
  w.key("percentiles");
  w.begin_object();
  for (size_t i = 0; i < sizeof kPercentiles / sizeof kPercentiles[0]; i++)
    w.kv(kPercentileKeys[i], percentile(kPercentiles[i]));
  w.end_object();
  w.key("histogram");
  write_buckets_json(w);
  w.end_object();
}

}  // namespace isoprobe
