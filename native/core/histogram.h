// Log-linear latency histogram (HdrHistogram-style): fixed memory, no allocation when recording,
// mergeable, reported values within 1/256 (0.39 %) of the true value.
#pragma once
#include <cstdint>
#include <string>

namespace isoprobe {

class JsonWriter;

class Histogram {
 public:
  // Values below 2^(kSubBits+1) get a bucket each; above that every power of two is split into
  // 2^kSubBits buckets, so a bucket is at most 1/128 of its lower bound wide and its midpoint
  // is within 1/256 of any value in it.
  static constexpr int kSubBits = 7;
  static constexpr uint64_t kSub = 1ull << kSubBits;
  // Values up to 2^kMaxExp - 1 ns (~73 min) are bucketed; larger ones count in the top bucket
  // (their exact max is still kept).
  static constexpr int kMaxExp = 42;
  static constexpr int kBuckets = int(kSub + (kMaxExp - kSubBits) * kSub);

  static int index(uint64_t v) {
    if (v < kSub) return int(v);
    int e = 63 - __builtin_clzll(v);
    if (e >= kMaxExp) return kBuckets - 1;
    return int(kSub + uint64_t(e - kSubBits) * kSub + ((v >> (e - kSubBits)) - kSub));
  }
  static uint64_t bucket_low(int i) {
    if (uint64_t(i) < kSub) return uint64_t(i);
    uint64_t j = uint64_t(i) - kSub;
    int e = int(j / kSub) + kSubBits;
    return (kSub + j % kSub) << (e - kSubBits);
  }
  static uint64_t bucket_high(int i) {  // inclusive
    if (uint64_t(i) < kSub) return uint64_t(i);
    int e = int((uint64_t(i) - kSub) / kSub) + kSubBits;
    return bucket_low(i) + (1ull << (e - kSubBits)) - 1;
  }

  Histogram() { reset(); }
  void reset();

  void record(uint64_t v) {
    counts_[index(v)]++;
    count_++;
    if (v < min_) min_ = v;
    if (v > max_) max_ = v;
    sum_ += v;
    sumsq_ += (unsigned __int128)v * v;
  }
  void merge(const Histogram& o);

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ ? min_ : 0; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ ? double(sum_) / double(count_) : 0; }
  double stdev() const;
  // Nearest-rank percentile: the value at rank ceil(p/100 * count), reported as the midpoint of
  // its bucket and clamped to [min, max]. 0 when empty.
  uint64_t percentile(double p) const;

  // {"count","min","max","mean","stdev","percentiles":{..},"histogram":{...}}
  void write_json(JsonWriter& w) const;
  void write_buckets_json(JsonWriter& w) const;

 private:
  uint64_t counts_[kBuckets];
  uint64_t count_, min_, max_;
  unsigned __int128 sum_, sumsq_;
};

}  // namespace isoprobe
