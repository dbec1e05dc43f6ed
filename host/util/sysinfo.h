// host/util: what the machine offers — memory and huge pages (sysinfo.*) and the STREAM
// triad that `synfield bench` and the benchmarks quote against (stream_triad*). Of host/ it
// includes only host/engine/launch.h, through which the device triad is launched.
//
// What the machine offers, read from /proc (Linux): the memory a run may take, for refusing
// a problem that cannot fit up front, and the process's peak resident memory, for reports;
// and a hint that a large array be backed by huge pages.
#pragma once

#include <cstddef>
#include <string>

namespace synfield {

// Bytes of /proc/meminfo MemAvailable (0 when unknown). The environment variable
// SYNFIELD_HOST_MEMORY_GIB overrides it, for VMs whose memory grows on use.
double host_available_bytes();
// The process's peak resident memory (VmHWM of /proc/self/status; 0 when unknown).
double peak_resident_bytes();
// "1.5 GiB"
std::string gib_text(double bytes);

// Asks Linux to back the 2 MiB pages inside [p, p + bytes) with transparent huge pages
// (madvise MADV_HUGEPAGE; where the kernel's setting is `madvise`, the common default, it
// otherwise uses 4 KiB pages). Call it before the memory is first touched: a page faulted in
// before stays small. A stencil pass reads several planes of each array at once, and with
// 4 KiB pages every 4 KiB of each stream costs a TLB miss. Does nothing for arrays under
// 4 MiB (at most one whole huge page inside) and elsewhere than Linux; the call is advice,
// and a refusal is not an error.
void advise_huge_pages(void* p, std::size_t bytes);

}  // namespace synfield
