// What the machine offers, read from /proc (Linux): the memory a run may take, for refusing
// a problem that cannot fit up front, and the process's peak resident memory, for reports.
#pragma once

#include <string>

namespace synfield {

// Bytes of /proc/meminfo MemAvailable (0 when unknown). The environment variable
// SYNFIELD_HOST_MEMORY_GIB overrides it, for VMs whose memory grows on use.
double host_available_bytes();
// The process's peak resident memory (VmHWM of /proc/self/status; 0 when unknown).
double peak_resident_bytes();
// "1.5 GiB"
std::string gib_text(double bytes);

}  // namespace synfield
