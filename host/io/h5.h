// host/io: every HDF5 file — this layer over the HDF5 C API, the run file and its writer
// thread (output.*, writer_thread.h), XDMF, checkpoints, `info` and `compare` (inspect.*).
// The only code that calls the HDF5 C API, but for host/sweep/sweep.cpp (its summary file,
// reading run files) and host/gd/gd.cpp (HDF5 type names). It includes include/synfield only.
//
// A thin RAII layer over the HDF5 C API: files, attributes, fixed arrays and datasets that
// grow along their first axis. Every failure throws h5::Error naming the file and object.
// With parallel HDF5 a file can also be opened by all the ranks of a Comm together (MPI-IO):
// every call on it is then collective (every rank makes it, with the same arguments).
// A thread-safe HDF5 (Debian's serial build) serialises its calls, and its error-stack
// printing is switched off per thread, so a thread that calls HDF5 first calls
// h5::quiet_this_thread(); parallel HDF5 is not thread-safe (thread_safe()).
#pragma once

#include <hdf5.h>

#include <synfield/comm.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace synfield::h5 {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Owns one hid_t and closes it with the matching H5?close.
class Handle {
 public:
  Handle() = default;
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  Handle(Handle&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = -1; }
  Handle& operator=(Handle&& o) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }
  void reset();
  hid_t get() const { return id_; }
  explicit operator bool() const { return id_ >= 0; }

 private:
  hid_t id_ = -1;
  herr_t (*close_)(hid_t) = nullptr;
};

template <class T>
hid_t native_type();

// Turns off HDF5's printing of its error stack for the calling thread (the stack is per
// thread in a thread-safe HDF5); we report our own messages.
void quiet_this_thread();
// The innermost message of HDF5's current error stack ("unable to lock file, …"), or "".
std::string hdf5_reason();
// Whether this HDF5 is parallel HDF5, so that File can open a file for a Comm's ranks.
bool parallel_io();
// Whether this HDF5 may be called from several threads (it serialises its calls). Debian's
// serial HDF5 is; parallel HDF5 is not, and must then be called from one thread at a time.
bool thread_safe();

class File {
 public:
  // Truncates. `swmr_ready`: the newest file format (libver latest), which SWMR writing
  // (start_swmr_write) needs; otherwise a format HDF5 1.8 readers can open. `ranks`: every
  // rank of `ranks` creates it together (MPI-IO; parallel_io() must hold), and the file is
  // collective (see Series for its rows).
  static File create(const std::string& path, bool swmr_ready = false, const Comm* ranks = nullptr);
  // Read-only. A file that a SWMR writer holds is opened with SWMR read access (the data
  // as of the writer's last flush), so a run can be inspected while it writes.
  static File open_read(const std::string& path);
  // Read-write, not SWMR. `recover`: clear the "open for writing" marks that a writer
  // which died (or a SWMR writer) left in the superblock, as h5clear -s does.
  // `ranks`: opened by every rank of `ranks` together, as create.
  static File open_write(const std::string& path, bool recover = false, const Comm* ranks = nullptr);
  const std::string& path() const { return path_; }
  // The ranks of a collective file, or null.
  const Comm* ranks() const { return ranks_; }
  hid_t id() const { return h_.get(); }
  bool swmr_read() const { return swmr_read_; }
  void flush();
  void close() { h_.reset(); }
  // Switches to SWMR write mode: from now on no objects or attributes may be created,
  // only rows appended; readers opening with SWMR read access see every flushed row.
  void start_swmr_write();

  bool exists(const std::string& object) const;
  void set_attr(const std::string& name, const std::string& value, const std::string& object = "/");
  void set_attr(const std::string& name, double value, const std::string& object = "/");
  void set_attr(const std::string& name, std::int64_t value, const std::string& object = "/");
  std::string attr_string(const std::string& name, const std::string& object = "/") const;

  // A whole array of the given shape (intermediate groups are created).
  template <class T>
  void write(const std::string& dataset, const std::vector<T>& data, const std::vector<hsize_t>& dims);

  // Reads a dataset as doubles, with its shape.
  std::vector<double> read(const std::string& dataset, std::vector<hsize_t>* dims = nullptr) const;

 private:
  std::string path_;
  Handle h_;
  bool swmr_read_ = false;
  const Comm* ranks_ = nullptr;
};

// A chunked dataset of shape [S, *inner] that grows by appending rows along S (maximum
// extent unlimited). Chunks hold about 64 KiB: many rows of a small series; a row larger
// than 1 MiB is split along its leading axes into chunks of at most about 1 MiB; a
// compressed series of rows of 4 KiB or more has one row a chunk (appending never
// recompresses earlier rows). Uncompressed rows of 64 KiB or more bypass HDF5's chunk
// cache: they go from the caller's buffer to the file without an extra copy.
// In a collective file (File::ranks) every rank appends every row: append writes rank 0's
// row (the others' is not read), append_part each rank's part of it; the writes are
// collective MPI-IO (which compressed datasets need), and flush() does nothing (File::flush
// writes the cached rows of every dataset).
class Series {
 public:
  Series() = default;
  // A new dataset; `deflate` 1..9 compresses it with the deflate (gzip) filter.
  Series(File& f, const std::string& path, hid_t type, const std::vector<hsize_t>& inner, int deflate = 0);
  // The existing dataset `path` of `f` (to append to it again).
  static Series open(File& f, const std::string& path);
  template <class T>
  void append(const T* row) { append_raw(row, native_type<T>(), -1, 0, 0); }
  // Appends a row of which this rank holds the entries [first, first + count) of its inner
  // axis `axis` (0: the series' second axis), all of the other axes, in C order; the ranks'
  // parts tile the row. Only in a collective file.
  template <class T>
  void append_part(const T* part, int axis, hsize_t first, hsize_t count) {
    append_raw(part, native_type<T>(), axis, first, count);
  }
  hsize_t rows() const { return rows_; }
  // Writes its cached rows and metadata to the file (what SWMR readers see): H5Dflush.
  void flush();
  // Shrinks (or grows) the dataset to `rows` rows; not in SWMR write mode.
  void resize(hsize_t rows);
  const std::string& name() const { return name_; }  // "file:/dataset"
  const std::vector<hsize_t>& inner() const { return inner_; }

 private:
  // axis −1: the whole row (rank 0's in a collective file)
  void append_raw(const void* data, hid_t memtype, int axis, hsize_t first, hsize_t count);
  std::string name_;
  Handle ds_;
  const Comm* ranks_ = nullptr;
  std::vector<hsize_t> inner_;
  hsize_t rows_ = 0;
};

// "file.h5:/dataset" → {file, dataset}; throws with `what` in the message when malformed.
std::pair<std::string, std::string> split_source(const std::string& spec, const std::string& what);

}  // namespace synfield::h5
