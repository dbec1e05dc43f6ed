// HDF5 RAII layer (host/io/h5.h).
#include "host/io/h5.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <string>
#include <thread>

namespace synfield::h5 {
namespace {

// HDF5 prints its own error stack by default; we report our own messages instead.
// Every file is closed explicitly (RAII), so HDF5's exit-time cleanup is not needed; and a
// file whose close failed (its last flush hit a full disk) stays on HDF5's list, where that
// cleanup crashes in H5F__close_cb (HDF5 1.10.8). H5dont_atexit must come before the
// library's first use, which is the H5Eset_auto2 here, before main.
struct Quiet {
  Quiet() {
    H5dont_atexit();
    quiet_this_thread();
  }
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

// Dataset access: an uncompressed series of large rows (snapshots) bypasses HDF5's chunk
// cache, so a row goes from the caller's buffer to the file without an extra copy; small
// rows and compressed chunks (which are deflated whole) keep the default cache.
Handle access_props(hsize_t row_bytes, bool filtered) {
  Handle p(check(H5Pcreate(H5P_DATASET_ACCESS), "H5Pcreate"), H5Pclose);
  if (!filtered && row_bytes >= (hsize_t(1) << 16)) H5Pset_chunk_cache(p.get(), 0, 0, 1.0);
  return p;
}

// File access: through MPI-IO over `ranks` when given (checked before any HDF5 call: ranks
// that are threads must not call a parallel HDF5, which is not thread-safe, at once).
Handle file_access(const std::string& path, const Comm* ranks) {
#ifdef H5_HAVE_PARALLEL
  if (ranks && !ranks->mpi_comm()) throw Error(path + ": MPI-IO needs MPI ranks");
#else
  if (ranks) throw Error(path + ": this HDF5 is not parallel HDF5 (no MPI-IO)");
#endif
  Handle fapl(check(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate"), H5Pclose);
#ifdef H5_HAVE_PARALLEL
  if (ranks)
    check(H5Pset_fapl_mpio(fapl.get(), *static_cast<const MPI_Comm*>(ranks->mpi_comm()), MPI_INFO_NULL),
          path + ": cannot set up MPI-IO");
#endif
  return fapl;
}

// Why `path` cannot be created, or "": HDF5 only says "unable to open file", so a plain
// open() finds the reason (missing folder, permission, a folder in the way).
std::string cannot_create(const std::string& path) {
  namespace fs = std::filesystem;
  if (path.empty()) return "cannot create a file with an empty name";
  std::error_code ec;
  if (fs::is_directory(path, ec)) return "cannot create " + path + ": it is a folder";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
  if (fd >= 0) {
    ::close(fd);
    return "";
  }
  const int err = errno;
  const fs::path dir = fs::path(path).parent_path();
  if (err == ENOENT && !dir.empty() && !fs::is_directory(dir, ec))
    return "cannot create " + path + ": folder " + dir.string() + " does not exist";
  return "cannot create " + path + ": " + std::strerror(err);
}

}  // namespace

bool parallel_io() {
#ifdef H5_HAVE_PARALLEL
  return true;
#else
  return false;
#endif
}

bool thread_safe() {
#ifdef H5_HAVE_THREADSAFE
  return true;
#else
  return false;
#endif
}

void quiet_this_thread() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

std::string hdf5_reason() {
  std::string msg;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_UPWARD,
      [](unsigned n, const H5E_error2_t* e, void* data) -> herr_t {
        if (n == 0 && e->desc) *static_cast<std::string*>(data) = e->desc;
        return 0;
      },
      &msg);
  return msg;
}


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

File File::create(const std::string& path, bool swmr_ready, const Comm* ranks) {
  File f;
  f.path_ = path;
  f.ranks_ = ranks;
  // one rank tries the path, and all of them stop if it cannot be created
  std::string why = !ranks || ranks->rank() == 0 ? cannot_create(path) : "";
  if (max_over(ranks, !why.empty()) && why.empty()) why = "cannot create " + path + " (see rank 0)";
  if (!why.empty()) throw Error(why);
  Handle fapl = file_access(path, ranks);
  H5Pset_libver_bounds(fapl.get(), swmr_ready ? H5F_LIBVER_LATEST : H5F_LIBVER_V18, H5F_LIBVER_LATEST);
  f.h_ = Handle(check(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), "cannot create " + path),
                H5Fclose);
  return f;
}

File File::open_read(const std::string& path) {
  File f;
  f.path_ = path;
  if (H5Fis_hdf5(path.c_str()) <= 0)
    throw Error(path + ": not a readable HDF5 file (missing, truncated or corrupt)");
  hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0) {
    // a SWMR writer holds it ("file is already open for write"): read it the SWMR way
    const std::string reason = hdf5_reason();
    id = H5Fopen(path.c_str(), H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, H5P_DEFAULT);
    if (id < 0) throw Error("cannot open " + path + (reason.empty() ? "" : " (" + reason + ")"));
    f.swmr_read_ = true;
  }
  f.h_ = Handle(id, H5Fclose);
  return f;
}

File File::open_write(const std::string& path, bool recover, const Comm* ranks) {
  File f;
  f.path_ = path;
  f.ranks_ = ranks;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw Error(path + ": no such file");
  if (H5Fis_hdf5(path.c_str()) <= 0) throw Error(path + ": not an HDF5 file (truncated or corrupt?)");
  Handle fapl = file_access(path, ranks);
  if (recover) {
    // HDF5's own h5clear sets this file-access property; it exists in 1.10 and later
    const char* clear = "clear_status_flags";
    hbool_t yes = 1;
    if (H5Pexist(fapl.get(), clear) > 0) H5Pset(fapl.get(), clear, &yes);
  }
  // A reader (synfield info, h5py) holds the file's lock while it reads: wait for it, up to
  // 10 s, rather than fail a run's closing write because someone looked at the file. (MPI-IO
  // takes no lock, and ranks that retried apart would fall out of step.)
  hid_t id = -1;
  std::string reason;
  for (int attempt = 0; attempt < (ranks ? 1 : 200); ++attempt) {
    id = H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl.get());
    if (id >= 0) break;
    reason = hdf5_reason();
    if (reason.find("unable to lock file") == std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (id < 0) throw Error("cannot open " + path + " for writing" + (reason.empty() ? "" : " (" + reason + ")"));
  f.h_ = Handle(id, H5Fclose);
  return f;
}

void File::flush() {
  if (H5Fflush(h_.get(), H5F_SCOPE_GLOBAL) < 0) throw Error(path_ + ": flush failed (disk full?)");
}

void File::start_swmr_write() {
  if (H5Fstart_swmr_write(h_.get()) < 0) {
    const std::string reason = hdf5_reason();
    throw Error(path_ + ": cannot start SWMR writing" + (reason.empty() ? "" : " (" + reason + ")"));
  }
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

Series::Series(File& f, const std::string& path, hid_t type, const std::vector<hsize_t>& inner, int deflate)
    : name_(f.path() + ":" + path), ranks_(f.ranks()), inner_(inner) {
  if (deflate < 0 || deflate > 9) throw Error(name_ + ": deflate level " + std::to_string(deflate) + " not in 0..9");
  std::vector<hsize_t> dims{0}, maxdims{H5S_UNLIMITED}, chunk{1};
  hsize_t row = 1;
  for (hsize_t n : inner) {
    dims.push_back(n);
    maxdims.push_back(n);
    chunk.push_back(n);
    row *= n;
  }
  const hsize_t size = H5Tget_size(type), small = hsize_t(1) << 16, large = hsize_t(1) << 20;
  // about 64 KiB a chunk: many rows of a small series, one row of a mid-size snapshot; a
  // row over 1 MiB is split along its leading axes (whole lines of the last axis kept)
  chunk[0] = std::max<hsize_t>(1, small / std::max<hsize_t>(1, row * size));
  // compressed: one row a chunk, so appending never recompresses earlier rows
  if (deflate > 0 && row * size >= 4096) chunk[0] = 1;
  hsize_t bytes = row * size;
  for (std::size_t k = 1; k + 1 < chunk.size() && bytes > large; ++k) {
    const hsize_t rest = bytes / chunk[k];  // bytes of one slice along axis k
    chunk[k] = std::max<hsize_t>(1, large / std::max<hsize_t>(1, rest));
    bytes = rest * chunk[k];
  }
  Handle space(check(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), maxdims.data()), "H5Screate"),
               H5Sclose);
  Handle dcpl(check(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate"), H5Pclose);
  H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data());
  if (deflate > 0) {
    if (H5Zfilter_avail(H5Z_FILTER_DEFLATE) <= 0) throw Error(name_ + ": this HDF5 has no deflate filter");
    H5Pset_shuffle(dcpl.get());  // byte shuffling first: floats compress much better
    H5Pset_deflate(dcpl.get(), static_cast<unsigned>(deflate));
  }
  Handle lcpl = link_props();
  Handle dapl = access_props(row * size, deflate > 0);
  ds_ = Handle(check(H5Dcreate2(f.id(), path.c_str(), type, space.get(), lcpl.get(), dcpl.get(), dapl.get()),
                     name_ + ": cannot create dataset"),
               H5Dclose);
}

Series Series::open(File& f, const std::string& path) {
  Series s;
  s.name_ = f.path() + ":" + path;
  s.ranks_ = f.ranks();
  s.ds_ = Handle(check(H5Dopen2(f.id(), path.c_str(), H5P_DEFAULT), s.name_ + ": cannot open dataset"), H5Dclose);
  {
    // as a new series: large uncompressed rows bypass the chunk cache
    Handle dcpl(check(H5Dget_create_plist(s.ds_.get()), "H5Dget_create_plist"), H5Pclose);
    Handle type(check(H5Dget_type(s.ds_.get()), "H5Dget_type"), H5Tclose);
    Handle space(check(H5Dget_space(s.ds_.get()), "H5Dget_space"), H5Sclose);
    hsize_t row = H5Tget_size(type.get());
    const int rank = H5Sget_simple_extent_ndims(space.get());
    std::vector<hsize_t> dims(rank > 0 ? rank : 0);
    if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
    for (int k = 1; k < rank; ++k) row *= dims[k];
    Handle dapl = access_props(row, H5Pget_nfilters(dcpl.get()) > 0);
    s.ds_.reset();
    s.ds_ = Handle(check(H5Dopen2(f.id(), path.c_str(), dapl.get()), s.name_ + ": cannot open dataset"), H5Dclose);
  }
  Handle space(check(H5Dget_space(s.ds_.get()), "H5Dget_space"), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 1) throw Error(s.name_ + ": not a series (scalar dataset)");
  std::vector<hsize_t> dims(rank), maxdims(rank);
  H5Sget_simple_extent_dims(space.get(), dims.data(), maxdims.data());
  if (maxdims[0] != H5S_UNLIMITED) throw Error(s.name_ + ": not a growing series (fixed first axis)");
  s.rows_ = dims[0];
  s.inner_.assign(dims.begin() + 1, dims.end());
  return s;
}

void Series::flush() {
  if (ranks_) return;  // File::flush, collectively
  if (H5Dflush(ds_.get()) < 0) throw Error(name_ + ": flush failed (disk full?)");
}

void Series::resize(hsize_t rows) {
  std::vector<hsize_t> dims{rows};
  dims.insert(dims.end(), inner_.begin(), inner_.end());
  if (H5Dset_extent(ds_.get(), dims.data()) < 0) throw Error(name_ + ": cannot resize dataset");
  rows_ = rows;
}

void Series::append_raw(const void* data, hid_t memtype, int axis, hsize_t first, hsize_t count) {
  if (axis >= 0 && !ranks_) throw Error(name_ + ": a part of a row is written only to a collective file");
  if (axis >= static_cast<int>(inner_.size())) throw Error(name_ + ": no inner axis " + std::to_string(axis));
  std::vector<hsize_t> dims{rows_ + 1}, start{rows_}, extent{1};
  for (hsize_t n : inner_) {
    dims.push_back(n);
    start.push_back(0);
    extent.push_back(n);
  }
  if (axis >= 0) {
    start[axis + 1] = first;
    extent[axis + 1] = count;
  }
  // this rank's share of the row: all of it, its part, or (a collective file's row that
  // rank 0 writes, or an empty part) nothing
  const bool none = axis >= 0 ? count == 0 : ranks_ && ranks_->rank() != 0;
  if (none) extent[axis >= 0 ? axis + 1 : 0] = 1;  // a valid shape for the empty selection
  if (H5Dset_extent(ds_.get(), dims.data()) < 0) throw Error(name_ + ": cannot extend dataset");
  Handle fspace(check(H5Dget_space(ds_.get()), "H5Dget_space"), H5Sclose);
  Handle mspace(check(H5Screate_simple(static_cast<int>(extent.size()), extent.data(), nullptr), "H5Screate"),
                H5Sclose);
  if (none) {
    H5Sselect_none(fspace.get());
    H5Sselect_none(mspace.get());
  } else {
    H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start.data(), nullptr, extent.data(), nullptr);
  }
  Handle dxpl(check(H5Pcreate(H5P_DATASET_XFER), "H5Pcreate"), H5Pclose);
#ifdef H5_HAVE_PARALLEL
  if (ranks_) H5Pset_dxpl_mpio(dxpl.get(), H5FD_MPIO_COLLECTIVE);  // compressed datasets need it
#endif
  if (H5Dwrite(ds_.get(), memtype, mspace.get(), fspace.get(), dxpl.get(), data) < 0)
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
