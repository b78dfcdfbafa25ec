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

// The interface's combined channels set to `n` where the driver enabled fewer (ETHTOOL_SCHANNELS,
// capped at its maximum). Returns false with *why on failure.
bool set_channels(const std::string& ifname, unsigned n, std::string* why);

}  // namespace isoprobe
