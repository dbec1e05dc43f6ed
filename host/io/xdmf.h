// The XDMF side file of a run (PATH with .xmf in place of .h5) so ParaView and VisIt open
// the snapshots of a 2-D or 3-D lattice: a temporal collection with one uniform grid per
// snapshot (a co-rectilinear mesh of the lattice's shape and spacing, node-centred), whose
// attributes are HDF5 hyperslab references into /snapshots/fields/<f> and
// /snapshots/velocities/<f> [S, B, *shape] — one attribute per field and replica.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace synfield {

struct XdmfSnapshots {
  std::string h5_file;  // the HDF5 file as the .xmf refers to it (its name, beside the .xmf)
  int dim = 2;          // 2 or 3
  std::array<std::int64_t, 3> shape{1, 1, 1};
  double spacing = 1.0;
  int replicas = 1;
  int precision = 8;  // bytes a value: 4 (float32) or 8 (float64)
  std::vector<std::string> fields;
  bool velocities = true;
  std::vector<double> times;  // one per snapshot row
};

// PATH with its .h5 (or .hdf5) extension replaced by .xmf, or PATH.xmf.
std::string xdmf_path_for(const std::string& h5_path);

// The attribute name of field `f`, replica r: "w" for one replica, else "w_r0", "w_r1", …;
// velocities get the prefix "velocity_".
std::string xdmf_attribute_name(const std::string& field, int replica, int replicas, bool velocity);

// The XML text, and writing it to `xmf_path` (h5::Error naming it on failure).
std::string xdmf_text(const XdmfSnapshots& s);
void write_xdmf(const std::string& xmf_path, const XdmfSnapshots& s);

}  // namespace synfield
