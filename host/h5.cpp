// HDF5 RAII layer (host/h5.h).
#include "h5.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <numeric>

namespace synfield::h5 {
namespace {

// HDF5 prints its own error stack by default; we report our own messages instead.
struct Quiet {
  Quiet() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }
};
const Quiet quiet;

hid_t check(hid_t id, const std::string& what) {
  if (id < 0) throw Error(what);
  return id;
}

Handle link_props() {
  Handle p(check(H5Pcreate(H5P_LINK_CREATE), "H5Pcreate"), H5Pclose);
  H5Pset_create_intermediate_group(p.get(), 1);
  return p;
}

Handle open_object(hid_t file, const std::string& object, const std::string& where) {
  return Handle(check(H5Oopen(file, object.c_str(), H5P_DEFAULT), where + ": no object " + object), H5Oclose);
}

void write_attr(hid_t file, const std::string& path, const std::string& object, const std::string& name, hid_t type,
                const void* value) {
  Handle obj = open_object(file, object, path);
  if (H5Aexists(obj.get(), name.c_str()) > 0) H5Adelete(obj.get(), name.c_str());
  Handle space(check(H5Screate(H5S_SCALAR), "H5Screate"), H5Sclose);
  Handle a(check(H5Acreate2(obj.get(), name.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT),
                 path + ": cannot create attribute " + name),
           H5Aclose);
  if (H5Awrite(a.get(), type, value) < 0) throw Error(path + ": cannot write attribute " + name);
}

Handle string_type(std::size_t size) {
  Handle t(check(H5Tcopy(H5T_C_S1), "H5Tcopy"), H5Tclose);
  H5Tset_size(t.get(), size == 0 ? 1 : size);
  H5Tset_cset(t.get(), H5T_CSET_UTF8);
  return t;
}

}  // namespace

Handle& Handle::operator=(Handle&& o) noexcept {
  if (this != &o) {
    reset();
    id_ = o.id_;
    close_ = o.close_;
    o.id_ = -1;
  }
  return *this;
}

void Handle::reset() {
  if (id_ >= 0 && close_) close_(id_);
  id_ = -1;
}

template <>
hid_t native_type<double>() { return H5T_NATIVE_DOUBLE; }
template <>
hid_t native_type<float>() { return H5T_NATIVE_FLOAT; }
template <>
hid_t native_type<std::int64_t>() { return H5T_NATIVE_INT64; }

File File::create(const std::string& path) {
  namespace fs = std::filesystem;
  File f;
  f.path_ = path;
  // HDF5 only says "unable to open file"; find the reason (missing folder, permission,
  // a folder in the way) with a plain open() first.
  if (path.empty()) throw Error("cannot create a file with an empty name");
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw Error("cannot create " + path + ": it is a folder");
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
  if (fd < 0) {
    const int err = errno;
    const fs::path dir = fs::path(path).parent_path();
    if (err == ENOENT && !dir.empty() && !fs::is_directory(dir, ec))
      throw Error("cannot create " + path + ": folder " + dir.string() + " does not exist");
    throw Error("cannot create " + path + ": " + std::strerror(err));
  }
  ::close(fd);
  Handle fapl(check(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate"), H5Pclose);
  H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V18, H5F_LIBVER_LATEST);
  f.h_ = Handle(check(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), "cannot create " + path),
                H5Fclose);
  return f;
}

File File::open_read(const std::string& path) {
  File f;
  f.path_ = path;
  if (H5Fis_hdf5(path.c_str()) <= 0)
    throw Error(path + ": not a readable HDF5 file (missing, truncated or corrupt)");
  f.h_ = Handle(check(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "cannot open " + path), H5Fclose);
  return f;
}

void File::flush() {
  if (H5Fflush(h_.get(), H5F_SCOPE_GLOBAL) < 0) throw Error(path_ + ": flush failed (disk full?)");
}

bool File::exists(const std::string& object) const {
  if (object == "/") return true;
  // check each prefix: H5Lexists fails on a missing intermediate group
  std::size_t pos = 0;
  while ((pos = object.find('/', pos + 1)) != std::string::npos)
    if (H5Lexists(h_.get(), object.substr(0, pos).c_str(), H5P_DEFAULT) <= 0) return false;
  return H5Lexists(h_.get(), object.c_str(), H5P_DEFAULT) > 0;
}

void File::set_attr(const std::string& name, const std::string& value, const std::string& object) {
  Handle t = string_type(0);
  H5Tset_size(t.get(), H5T_VARIABLE);  // variable-length UTF-8: h5py reads it as str
  const char* s = value.c_str();
  write_attr(h_.get(), path_, object, name, t.get(), &s);
}
void File::set_attr(const std::string& name, double value, const std::string& object) {
  write_attr(h_.get(), path_, object, name, H5T_NATIVE_DOUBLE, &value);
}
void File::set_attr(const std::string& name, std::int64_t value, const std::string& object) {
  write_attr(h_.get(), path_, object, name, H5T_NATIVE_INT64, &value);
}

std::string File::attr_string(const std::string& name, const std::string& object) const {
  Handle obj = open_object(h_.get(), object, path_);
  Handle a(check(H5Aopen(obj.get(), name.c_str(), H5P_DEFAULT), path_ + ": no attribute " + name), H5Aclose);
  Handle ft(check(H5Aget_type(a.get()), "H5Aget_type"), H5Tclose);
  if (H5Tget_class(ft.get()) != H5T_STRING) throw Error(path_ + ": attribute " + name + " is not a string");
  if (H5Tis_variable_str(ft.get()) > 0) {
    Handle mt = string_type(0);
    H5Tset_size(mt.get(), H5T_VARIABLE);
    char* s = nullptr;
    if (H5Aread(a.get(), mt.get(), &s) < 0) throw Error(path_ + ": cannot read attribute " + name);
    std::string out = s ? s : "";
    H5free_memory(s);
    return out;
  }
  const std::size_t n = H5Tget_size(ft.get());
  std::string out(n, '\0');
  Handle mt = string_type(n);
  if (H5Aread(a.get(), mt.get(), out.data()) < 0) throw Error(path_ + ": cannot read attribute " + name);
  out.resize(out.find('\0') == std::string::npos ? n : out.find('\0'));
  return out;
}

template <class T>
void File::write(const std::string& dataset, const std::vector<T>& data, const std::vector<hsize_t>& dims) {
  const hsize_t n = std::accumulate(dims.begin(), dims.end(), hsize_t(1), std::multiplies<hsize_t>());
  if (n != data.size()) throw Error(path_ + ":" + dataset + ": data size does not match its shape");
  Handle space(check(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), "H5Screate_simple"),
               H5Sclose);
  Handle lcpl = link_props();
  Handle ds(check(H5Dcreate2(h_.get(), dataset.c_str(), native_type<T>(), space.get(), lcpl.get(), H5P_DEFAULT,
                             H5P_DEFAULT),
                  path_ + ": cannot create dataset " + dataset),
            H5Dclose);
  if (H5Dwrite(ds.get(), native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()) < 0)
    throw Error(path_ + ": cannot write dataset " + dataset + " (disk full?)");
}
template void File::write<double>(const std::string&, const std::vector<double>&, const std::vector<hsize_t>&);
template void File::write<float>(const std::string&, const std::vector<float>&, const std::vector<hsize_t>&);
template void File::write<std::int64_t>(const std::string&, const std::vector<std::int64_t>&,
                                        const std::vector<hsize_t>&);

std::vector<double> File::read(const std::string& dataset, std::vector<hsize_t>* dims) const {
  if (!exists(dataset)) throw Error(path_ + ": no dataset " + dataset);
  Handle ds(check(H5Dopen2(h_.get(), dataset.c_str(), H5P_DEFAULT), path_ + ": cannot open dataset " + dataset),
            H5Dclose);
  Handle type(check(H5Dget_type(ds.get()), "H5Dget_type"), H5Tclose);
  const H5T_class_t cls = H5Tget_class(type.get());
  if (cls != H5T_FLOAT && cls != H5T_INTEGER)
    throw Error(path_ + ":" + dataset + ": not a numeric dataset");
  Handle space(check(H5Dget_space(ds.get()), "H5Dget_space"), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  std::vector<hsize_t> d(rank > 0 ? rank : 0);
  if (rank > 0) H5Sget_simple_extent_dims(space.get(), d.data(), nullptr);
  const hsize_t n = std::accumulate(d.begin(), d.end(), hsize_t(1), std::multiplies<hsize_t>());
  std::vector<double> out(n);
  if (n > 0 && H5Dread(ds.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0)
    throw Error(path_ + ":" + dataset + ": read failed (truncated or corrupt file?)");
  if (dims) *dims = d;
  return out;
}

Series::Series(File& f, const std::string& path, hid_t type, const std::vector<hsize_t>& inner)
    : name_(f.path() + ":" + path), inner_(inner) {
  std::vector<hsize_t> dims{0}, maxdims{H5S_UNLIMITED}, chunk{1};
  hsize_t row = 1;
  for (hsize_t n : inner) {
    dims.push_back(n);
    maxdims.push_back(n);
    chunk.push_back(n);
    row *= n;
  }
  // about 64 KiB a chunk: many rows of a small series, one row of a large snapshot
  chunk[0] = std::max<hsize_t>(1, (hsize_t(1) << 16) / (row * H5Tget_size(type)));
  Handle space(check(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), maxdims.data()), "H5Screate"),
               H5Sclose);
  Handle dcpl(check(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate"), H5Pclose);
  H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data());
  Handle lcpl = link_props();
  ds_ = Handle(check(H5Dcreate2(f.id(), path.c_str(), type, space.get(), lcpl.get(), dcpl.get(), H5P_DEFAULT),
                     name_ + ": cannot create dataset"),
               H5Dclose);
}

void Series::append_raw(const void* row, hid_t memtype) {
  std::vector<hsize_t> dims{rows_ + 1}, start{rows_}, count{1};
  for (hsize_t n : inner_) {
    dims.push_back(n);
    start.push_back(0);
    count.push_back(n);
  }
  if (H5Dset_extent(ds_.get(), dims.data()) < 0) throw Error(name_ + ": cannot extend dataset");
  Handle fspace(check(H5Dget_space(ds_.get()), "H5Dget_space"), H5Sclose);
  H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr);
  Handle mspace(check(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr), "H5Screate"),
                H5Sclose);
  if (H5Dwrite(ds_.get(), memtype, mspace.get(), fspace.get(), H5P_DEFAULT, row) < 0)
    throw Error(name_ + ": write failed (disk full?)");
  ++rows_;
}

std::pair<std::string, std::string> split_source(const std::string& spec, const std::string& what) {
  const auto colon = spec.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= spec.size() || spec[colon + 1] != '/')
    throw Error(what + " = \"" + spec + "\": expected \"file.h5:/dataset\"");
  return {spec.substr(0, colon), spec.substr(colon + 1)};
}

}  // namespace synfield::h5
