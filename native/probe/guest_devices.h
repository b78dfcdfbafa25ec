// What a guest sees of its virtio devices, read by /init from its own sysfs: the hardware queues
// of each block device (blk-mq contexts), the queues of each network interface, and per-queue
// interrupt counts where each queue has its own vector.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace isoprobe {

// {"block":[{"dev":"vda","queues":2}],"net":[{"dev":"eth0","rx_queues":2,"tx_queues":2,
//   "channels":{"combined":2,"max_combined":2}}]}
std::string guest_devices_json();

// Completion interrupts of each queue of a virtio-blk disk since boot, from /proc/interrupts
// (a vector per queue on virtio-pci with MSI-X); empty where the queues share one interrupt
// (virtio-mmio: one per device).
std::vector<uint64_t> blk_queue_irqs(const std::string& dev);

// Packets each queue of a network interface carried since boot, from its driver's own
// statistics (ETHTOOL_GSTATS, what `ethtool -S` prints: virtio_net's rx_queue_N_packets and
// tx_queue_N_packets). Empty where the driver names no per-queue counters.
struct NetQueuePackets {
  std::vector<uint64_t> rx, tx;
};
NetQueuePackets net_queue_packets(const std::string& ifname);

// The per-queue counters of a step: taken before it, and after it as the QUEUES frame's JSON of
// what each queue did in between ("" when no device has per-queue counters).
struct QueueSnapshot {
  std::vector<uint64_t> blk;  // vda
  NetQueuePackets net;        // eth0
};
QueueSnapshot queue_snapshot();
std::string queue_counts_json(const QueueSnapshot& before, const QueueSnapshot& after);

// The interface's combined channels set to `n` where the driver enabled fewer (ETHTOOL_SCHANNELS,
// capped at its maximum). Returns false with *why on failure.
bool set_channels(const std::string& ifname, unsigned n, std::string* why);

}  // namespace isoprobe
