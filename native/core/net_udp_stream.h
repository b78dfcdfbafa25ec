// UDP streams: a datagram's header on the wire, the receiver's counts of one stream with RFC 3550
// interarrival jitter, and the report the receiver sends back when the sender asks for it.
#pragma once
#include <cstddef>
#include <cstdint>

namespace isoprobe {

// First bytes of every datagram of a UDP stream: the server counts it instead of echoing it.
constexpr char kUdpStreamMagic[8] = {'I', 'S', 'O', 'P', 'U', 'D', 'P', '1'};
// warm: sent in the warm-up (not counted); data: sent in the measured window; ask: the sender
// has finished and asks for the report; report: the receiver's answer.
enum UdpStreamType : uint32_t { kUdpWarm = 1, kUdpData = 2, kUdpAsk = 3, kUdpReport = 4 };
// magic 8 | type 4 | reserved 4 | seq 8 | sender's send time, ns 8
constexpr size_t kUdpStreamHeader = 32;
// A report: the header, then received, out_of_order, dropped (u64 each) and jitter_ns (double).
constexpr size_t kUdpReportSize = kUdpStreamHeader + 32;

struct UdpStreamHeader {
  uint32_t type = 0;
  uint64_t seq = 0, send_ns = 0;
};

bool read_udp_header(const char* p, size_t n, UdpStreamHeader* h);
void write_udp_header(char* p, const UdpStreamHeader& h);

// RFC 3550 section 6.4.1 (code in A.8): D(i-1,i) = (R_i - R_{i-1}) - (S_i - S_{i-1}), the change
// of transit time between datagrams in arrival order, and J += (|D| - J) / 16. In ns, as a double
// (the RFC keeps it in timestamp units; the /16 smoothing is the same).
struct Rfc3550Jitter {
  bool have = false;
  int64_t last_transit = 0;
  double j = 0;
  void arrive(uint64_t send_ns, uint64_t arrival_ns) {
    int64_t transit = int64_t(arrival_ns - send_ns);
    if (have) {
      int64_t d = transit - last_transit;
      j += (double(d < 0 ? -d : d) - j) / 16.0;
    }
    have = true;
    last_transit = transit;
  }
};

// What the receiver counted of one stream's measured datagrams, and what its sender sent.
struct UdpStreamReport {
  uint64_t sent = 0;          // sender: datagrams sent in the measured window
  uint64_t warm_sent = 0;     // sender: in the warm-up
  uint64_t received = 0;      // receiver: measured datagrams that arrived (and were not dropped)
  uint64_t out_of_order = 0;  // receiver: arrived after one with a higher sequence number
  uint64_t dropped = 0;       // receiver: discarded on purpose (serve --drop-every, a test hook)
  double jitter_ns = 0;       // receiver: RFC 3550 interarrival jitter at the last arrival
  bool reported = false;      // the receiver's report came back
};

// The receiver's state of one stream (one sender address).
struct UdpStreamReceiver {
  UdpStreamReport r;
  Rfc3550Jitter jitter;
  uint64_t max_seq = 0, arrivals = 0;
  // A data datagram arrived at `arrival_ns`; every drop_every-th arrival is discarded uncounted.
  void on_data(const UdpStreamHeader& h, uint64_t arrival_ns, uint64_t drop_every);
};

size_t write_udp_report(char* p, const UdpStreamReport& r);
bool read_udp_report(const char* p, size_t n, UdpStreamReport* r);

// The jitter of a known sequence (send and arrival times in arrival order), for tests.
double rfc3550_jitter(const uint64_t* send_ns, const uint64_t* arrival_ns, size_t n);

}  // namespace isoprobe
