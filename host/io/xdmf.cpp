// XDMF side file of a run (host/io/xdmf.h).
#include "host/io/xdmf.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "host/io/h5.h"

namespace synfield {
namespace {

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

std::string xdmf_path_for(const std::string& h5_path) {
  for (const char* ext : {".h5", ".hdf5", ".hdf"}) {
    const std::string e = ext;
    if (h5_path.size() > e.size() && h5_path.compare(h5_path.size() - e.size(), e.size(), e) == 0)
      return h5_path.substr(0, h5_path.size() - e.size()) + ".xmf";
  }
  return h5_path + ".xmf";
}

std::string xdmf_attribute_name(const std::string& field, int replica, int replicas, bool velocity) {
  std::string name = (velocity ? "velocity_" : "") + field;
  if (replicas > 1) name += "_r" + std::to_string(replica);
  return name;
}

std::string xdmf_text(const XdmfSnapshots& s) {
  const int d = s.dim;
  std::string mesh_dims, origin, step, lattice;
  for (int mu = 0; mu < d; ++mu) {
    mesh_dims += (mu ? " " : "") + std::to_string(s.shape[mu]);
    origin += mu ? " 0" : "0";
    step += (mu ? " " : "") + number(s.spacing);
  }
  const std::string S = std::to_string(s.times.size()), B = std::to_string(s.replicas);
  const std::string file = xml_escape(s.h5_file);
  std::ostringstream x;
  x << "<?xml version=\"1.0\" ?>\n"
    << "<!DOCTYPE Xdmf SYSTEM \"Xdmf.dtd\" []>\n"
    << "<Xdmf Version=\"3.0\" xmlns:xi=\"http://www.w3.org/2001/XInclude\">\n"
    << "  <Domain>\n"
    << "    <Grid Name=\"snapshots\" GridType=\"Collection\" CollectionType=\"Temporal\">\n";
  for (std::size_t k = 0; k < s.times.size(); ++k) {
    x << "      <Grid Name=\"snapshot " << k << "\" GridType=\"Uniform\">\n"
      << "        <Time Value=\"" << number(s.times[k]) << "\"/>\n"
      << "        <Topology TopologyType=\"" << d << "DCoRectMesh\" Dimensions=\"" << mesh_dims << "\"/>\n"
      << "        <Geometry GeometryType=\"" << (d == 3 ? "ORIGIN_DXDYDZ" : "ORIGIN_DXDY") << "\">\n"
      << "          <DataItem Format=\"XML\" NumberType=\"Float\" Precision=\"8\" Dimensions=\"" << d << "\">"
      << origin << "</DataItem>\n"
      << "          <DataItem Format=\"XML\" NumberType=\"Float\" Precision=\"8\" Dimensions=\"" << d << "\">"
      << step << "</DataItem>\n"
      << "        </Geometry>\n";
    for (int vel = 0; vel < (s.velocities ? 2 : 1); ++vel) {
      for (const auto& f : s.fields) {
        const std::string dataset = std::string(vel ? "/snapshots/velocities/" : "/snapshots/fields/") + f;
        for (int r = 0; r < s.replicas; ++r) {
          // hyperslab [k, r, 0…] with count [1, 1, *shape] of the [S, B, *shape] dataset
          std::string start = std::to_string(k) + " " + std::to_string(r), stride = "1 1", count = "1 1";
          for (int mu = 0; mu < d; ++mu) {
            start += " 0";
            stride += " 1";
            count += " " + std::to_string(s.shape[mu]);
          }
          x << "        <Attribute Name=\"" << xml_escape(xdmf_attribute_name(f, r, s.replicas, vel != 0))
            << "\" AttributeType=\"Scalar\" Center=\"Node\">\n"
            << "          <DataItem ItemType=\"HyperSlab\" Dimensions=\"" << mesh_dims << "\" Type=\"HyperSlab\">\n"
            << "            <DataItem Dimensions=\"3 " << d + 2 << "\" Format=\"XML\">" << start << " " << stride
            << " " << count << "</DataItem>\n"
            << "            <DataItem Dimensions=\"" << S << " " << B << " " << mesh_dims
            << "\" NumberType=\"Float\" Precision=\"" << s.precision << "\" Format=\"HDF\">" << file << ":"
            << xml_escape(dataset) << "</DataItem>\n"
            << "          </DataItem>\n"
            << "        </Attribute>\n";
        }
      }
    }
    x << "      </Grid>\n";
  }
  x << "    </Grid>\n"
    << "  </Domain>\n"
    << "</Xdmf>\n";
  return x.str();
}

void write_xdmf(const std::string& xmf_path, const XdmfSnapshots& s) {
  const std::string text = xdmf_text(s);
  std::ofstream out(xmf_path, std::ios::binary | std::ios::trunc);
  if (!out) throw h5::Error("cannot write " + xmf_path);
  out << text;
  out.close();
  if (!out) throw h5::Error("cannot write " + xmf_path + " (disk full?)");
}

}  // namespace synfield
