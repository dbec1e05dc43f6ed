// A thin RAII layer over the HDF5 C API: files, attributes, fixed arrays and datasets that
// grow along their first axis. Every failure throws h5::Error naming the file and object.
#pragma once

#include <hdf5.h>

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

class File {
 public:
  static File create(const std::string& path);     // truncates
  static File open_read(const std::string& path);  // read-only
  const std::string& path() const { return path_; }
  hid_t id() const { return h_.get(); }
  void flush();
  void close() { h_.reset(); }

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
};

// A chunked dataset of shape [S, *inner] that grows by appending rows along S.
class Series {
 public:
  Series() = default;
  Series(File& f, const std::string& path, hid_t type, const std::vector<hsize_t>& inner);
  template <class T>
  void append(const T* row) { append_raw(row, native_type<T>()); }
  hsize_t rows() const { return rows_; }

 private:
  void append_raw(const void* row, hid_t memtype);
  std::string name_;
  Handle ds_;
  std::vector<hsize_t> inner_;
  hsize_t rows_ = 0;
};

// "file.h5:/dataset" → {file, dataset}; throws with `what` in the message when malformed.
std::pair<std::string, std::string> split_source(const std::string& spec, const std::string& what);

}  // namespace synfield::h5
