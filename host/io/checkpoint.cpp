// Checkpoint files (host/io/checkpoint.h), written with the HDF5 C API through h5::Handle.
#include "host/io/checkpoint.h"

#include <fcntl.h>
#include <hdf5.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "host/io/h5.h"

namespace synfield {
namespace {

constexpr const char* kFormat = "synfield-checkpoint-1";

// FNV-1a, 64 bits.
struct Fnv {
  std::uint64_t h = 1469598103934665603ull;
  void add(const void* p, std::size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
  }
  template <class T>
  void add(const std::vector<T>& v) {
    add(v.data(), v.size() * sizeof(T));
  }
  template <class T>
  void value(T v) {
    add(&v, sizeof v);
  }
};

std::uint64_t checksum(const Checkpoint& c) {
  Fnv f;
  f.add(c.config.data(), c.config.size());
  f.value(c.step);
  f.value(c.steps);
  f.value(c.time);
  f.value(c.dissipated);
  f.value(c.energy_ref);
  f.value(c.scale_ref);
  f.value(c.model_seed);
  f.add(c.initial_seeds);
  f.add(c.shape);
  f.add(c.w32);
  f.add(c.pi32);
  f.add(c.w64);
  f.add(c.pi64);
  f.add(c.bias);
  f.add(c.bias_velocity);
  return f.h;
}

class Writer {
 public:
  Writer(const std::string& path, hid_t file) : path_(path), file_(file) {}
  [[noreturn]] void fail(const std::string& what) const {
    throw CheckpointError("checkpoint " + path_ + ": cannot write " + what);
  }
  void attr(const char* name, hid_t type, const void* value) {
    h5::Handle space(H5Screate(H5S_SCALAR), H5Sclose);
    h5::Handle a(H5Acreate2(file_, name, type, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    if (!a || H5Awrite(a.get(), type, value) < 0) fail(std::string("attribute ") + name);
  }
  void attr(const char* name, const std::string& s) {
    h5::Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(type.get(), s.empty() ? 1 : s.size());
    H5Tset_strpad(type.get(), H5T_STR_NULLPAD);
    std::string v = s.empty() ? std::string(1, '\0') : s;
    attr(name, type.get(), v.data());
  }
  void attr(const char* name, std::int64_t v) { attr(name, H5T_NATIVE_INT64, &v); }
  void attr(const char* name, std::uint64_t v) { attr(name, H5T_NATIVE_UINT64, &v); }
  void attr(const char* name, double v) { attr(name, H5T_NATIVE_DOUBLE, &v); }
  void dataset(const std::string& name, hid_t type, const void* data, const std::vector<std::uint64_t>& dims) {
    std::vector<hsize_t> d(dims.begin(), dims.end());
    h5::Handle lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
    H5Pset_create_intermediate_group(lcpl.get(), 1);
    h5::Handle space(H5Screate_simple(static_cast<int>(d.size()), d.data(), nullptr), H5Sclose);
    h5::Handle ds(H5Dcreate2(file_, name.c_str(), type, space.get(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT), H5Dclose);
    if (!ds || H5Dwrite(ds.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) fail("dataset " + name);
  }

 private:
  std::string path_;
  hid_t file_;
};

class Reader {
 public:
  Reader(const std::string& path, hid_t file) : path_(path), file_(file) {}
  [[noreturn]] void fail(const std::string& why) const {
    throw CheckpointError("checkpoint " + path_ + ": " + why + " (not a complete synfield checkpoint)");
  }
  bool has_attr(const char* name) const { return H5Aexists(file_, name) > 0; }
  void attr(const char* name, hid_t type, void* out) const {
    if (!has_attr(name)) fail(std::string("attribute ") + name + " missing");
    h5::Handle a(H5Aopen(file_, name, H5P_DEFAULT), H5Aclose);
    if (!a || H5Aread(a.get(), type, out) < 0) fail(std::string("attribute ") + name + " unreadable");
  }
  std::string str(const char* name) const {
    if (!has_attr(name)) fail(std::string("attribute ") + name + " missing");
    h5::Handle a(H5Aopen(file_, name, H5P_DEFAULT), H5Aclose);
    h5::Handle ft(H5Aget_type(a.get()), H5Tclose);
    if (!a || !ft || H5Tget_class(ft.get()) != H5T_STRING || H5Tis_variable_str(ft.get()) > 0)
      fail(std::string("attribute ") + name + " is not a string");
    const std::size_t n = H5Tget_size(ft.get());
    std::string s(n, '\0');
    h5::Handle mt(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mt.get(), n);
    H5Tset_strpad(mt.get(), H5T_STR_NULLPAD);
    if (H5Aread(a.get(), mt.get(), s.data()) < 0) fail(std::string("attribute ") + name + " unreadable");
    s.resize(std::strlen(s.c_str()));
    return s;
  }
  template <class T>
  std::vector<T> dataset(const std::string& name, hid_t memtype, std::vector<std::uint64_t>* dims = nullptr) const {
    if (path_ok(name) <= 0) fail("dataset " + name + " missing");
    h5::Handle ds(H5Dopen2(file_, name.c_str(), H5P_DEFAULT), H5Dclose);
    if (!ds) fail("dataset " + name + " missing");
    h5::Handle space(H5Dget_space(ds.get()), H5Sclose);
    const int rank = H5Sget_simple_extent_ndims(space.get());
    if (rank < 0) fail("dataset " + name + " unreadable");
    std::vector<hsize_t> d(rank);
    H5Sget_simple_extent_dims(space.get(), d.data(), nullptr);
    std::size_t n = 1;
    for (hsize_t x : d) n *= x;
    std::vector<T> v(n);
    if (n > 0 && H5Dread(ds.get(), memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) < 0)
      fail("dataset " + name + " unreadable (truncated file?)");
    if (dims) dims->assign(d.begin(), d.end());
    return v;
  }
  // H5Lexists on every component of an absolute path.
  htri_t path_ok(const std::string& name) const {
    std::size_t pos = 0;
    while ((pos = name.find('/', pos + 1)) != std::string::npos)
      if (H5Lexists(file_, name.substr(0, pos).c_str(), H5P_DEFAULT) <= 0) return 0;
    return H5Lexists(file_, name.c_str(), H5P_DEFAULT);
  }
  bool has(const std::string& name) const { return path_ok(name) > 0; }

 private:
  std::string path_;
  hid_t file_;
};

void fsync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

std::vector<std::uint64_t> initial_seeds(const Problem& p) {
  std::vector<std::uint64_t> s;
  for (const InitialField& f : p.initial) {
    s.push_back(f.value.seed);
    s.push_back(f.velocity.seed);
  }
  return s;
}

void write_checkpoint(const std::string& path, const Checkpoint& c) {
  namespace fs = std::filesystem;
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  const std::string tmp = path + ".tmp";
  {
    h5::Handle file(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
    if (!file)
      throw CheckpointError("checkpoint " + path + ": cannot create the temporary file " + tmp);
    Writer w(tmp, file.get());
    w.attr("format", std::string(kFormat));
    w.attr("version", std::string(SYNFIELD_VERSION));
    w.attr("config", c.config);
    w.attr("config_file", c.config_file);
    w.attr("output", c.output);
    w.attr("backend", c.backend);
    w.attr("precision", std::string(to_string(c.precision)));
    w.attr("threads", static_cast<std::int64_t>(c.threads));
    w.attr("step", c.step);
    w.attr("steps", c.steps);
    w.attr("time", c.time);
    w.attr("dissipated", c.dissipated);
    w.attr("energy_ref", c.energy_ref);
    w.attr("scale_ref", c.scale_ref);
    w.attr("model_seed", c.model_seed);
    if (c.precision == Precision::float32) {
      w.dataset("/state/w", H5T_NATIVE_FLOAT, c.w32.data(), c.shape);
      w.dataset("/state/pi", H5T_NATIVE_FLOAT, c.pi32.data(), c.shape);
    } else {
      w.dataset("/state/w", H5T_NATIVE_DOUBLE, c.w64.data(), c.shape);
      w.dataset("/state/pi", H5T_NATIVE_DOUBLE, c.pi64.data(), c.shape);
    }
    if (!c.bias.empty()) {
      w.dataset("/state/bias", H5T_NATIVE_DOUBLE, c.bias.data(), c.bias_shape);
      w.dataset("/state/bias_velocity", H5T_NATIVE_DOUBLE, c.bias_velocity.data(), c.bias_shape);
    }
    w.dataset("/seeds/initial", H5T_NATIVE_UINT64, c.initial_seeds.data(), {c.initial_seeds.size() / 2, 2});
    w.attr("checksum", checksum(c));  // last: a file without it is incomplete
    if (H5Fflush(file.get(), H5F_SCOPE_GLOBAL) < 0) w.fail("(flush)");
  }
  fsync_path(tmp, false);
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw CheckpointError("checkpoint " + path + ": cannot rename " + tmp + " to it: " + ec.message());
  }
  const fs::path dir = fs::path(path).parent_path();
  fsync_path(dir.empty() ? "." : dir.string(), true);
}

Checkpoint read_checkpoint(const std::string& path) {
  namespace fs = std::filesystem;
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  std::error_code ec;
  if (!fs::exists(path, ec)) throw CheckpointError("checkpoint " + path + ": no such file");
  if (H5Fis_hdf5(path.c_str()) <= 0)
    throw CheckpointError("checkpoint " + path + ": not an HDF5 file, or truncated or corrupt");
  h5::Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file) throw CheckpointError("checkpoint " + path + ": cannot open it (truncated or corrupt HDF5 file)");
  Reader r(path, file.get());
  if (!r.has_attr("format") || r.str("format") != kFormat)
    throw CheckpointError("checkpoint " + path + ": not a synfield checkpoint (root attribute format != \"" +
                          kFormat + "\")");
  Checkpoint c;
  c.config = r.str("config");
  c.config_file = r.str("config_file");
  c.output = r.str("output");
  c.backend = r.str("backend");
  const std::string prec = r.str("precision");
  if (prec == "float32")
    c.precision = Precision::float32;
  else if (prec == "float64")
    c.precision = Precision::float64;
  else
    r.fail("precision = \"" + prec + "\"");
  std::int64_t threads = 0;
  r.attr("threads", H5T_NATIVE_INT64, &threads);
  c.threads = static_cast<int>(threads);
  r.attr("step", H5T_NATIVE_INT64, &c.step);
  r.attr("steps", H5T_NATIVE_INT64, &c.steps);
  r.attr("time", H5T_NATIVE_DOUBLE, &c.time);
  r.attr("dissipated", H5T_NATIVE_DOUBLE, &c.dissipated);
  r.attr("energy_ref", H5T_NATIVE_DOUBLE, &c.energy_ref);
  r.attr("scale_ref", H5T_NATIVE_DOUBLE, &c.scale_ref);
  r.attr("model_seed", H5T_NATIVE_UINT64, &c.model_seed);
  std::uint64_t sum = 0;
  r.attr("checksum", H5T_NATIVE_UINT64, &sum);
  std::vector<std::uint64_t> pi_dims;
  if (c.precision == Precision::float32) {
    c.w32 = r.dataset<float>("/state/w", H5T_NATIVE_FLOAT, &c.shape);
    c.pi32 = r.dataset<float>("/state/pi", H5T_NATIVE_FLOAT, &pi_dims);
  } else {
    c.w64 = r.dataset<double>("/state/w", H5T_NATIVE_DOUBLE, &c.shape);
    c.pi64 = r.dataset<double>("/state/pi", H5T_NATIVE_DOUBLE, &pi_dims);
  }
  if (pi_dims != c.shape) r.fail("/state/pi and /state/w differ in shape");
  if (r.has("/state/bias")) {
    std::vector<std::uint64_t> vd;
    c.bias = r.dataset<double>("/state/bias", H5T_NATIVE_DOUBLE, &c.bias_shape);
    c.bias_velocity = r.dataset<double>("/state/bias_velocity", H5T_NATIVE_DOUBLE, &vd);
    if (vd != c.bias_shape) r.fail("/state/bias_velocity and /state/bias differ in shape");
  }
  std::vector<std::uint64_t> sd;
  c.initial_seeds = r.dataset<std::uint64_t>("/seeds/initial", H5T_NATIVE_UINT64, &sd);
  if (checksum(c) != sum)
    throw CheckpointError("checkpoint " + path + ": checksum mismatch: the file is corrupt");
  return c;
}

}  // namespace synfield
