// The run's HDF5 output (host/io/output.h, host/io/h5.h, host/io/xdmf.h, host/io/writer_thread.h).
// Truth: the documented contract of the file and of RunWriter —
//   * a reader (another process, HDF5 SWMR read access, and `synfield info`) opens the file
//     while `synfield run` writes it and sees row counts that only grow and step/time
//     columns of equal length holding the steps the config asks for;
//   * compression is lossless (the compressed file's data equal the uncompressed file's bit
//     for bit) and the snapshot datasets carry the deflate filter;
//   * the XDMF side file is well-formed XML (parsed here) whose every HDF reference names a
//     dataset that exists in the referenced file, with that dataset's dims, and whose
//     hyperslabs and times match the file's snapshots;
//   * an HDF5 error on the writer thread (a file-size limit) surfaces as h5::Error naming the
//     file and the dataset on the next call;
//   * the queue holds at most two snapshots; resume() drops the rows after the checkpoint.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "host/io/h5.h"
#include "host/io/output.h"
#include "thread_comm.h"
#include "host/io/writer_thread.h"
#include "host/io/xdmf.h"
#include "test_util.h"

namespace synfield {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

// ---- a minimal XML parser (elements, attributes, text; enough to check the .xmf) ----------

struct XmlNode {
  std::string name;
  std::map<std::string, std::string> attrs;
  std::vector<XmlNode> children;
  std::string text;
  std::vector<const XmlNode*> all(const std::string& n) const {
    std::vector<const XmlNode*> out;
    for (const auto& c : children)
      if (c.name == n) out.push_back(&c);
    return out;
  }
  const XmlNode& one(const std::string& n) const {
    auto v = all(n);
    if (v.size() != 1) throw std::runtime_error("<" + name + "> has " + std::to_string(v.size()) + " <" + n + ">");
    return *v[0];
  }
};

class XmlParser {
 public:
  explicit XmlParser(std::string s) : s_(std::move(s)) {}
  XmlNode parse() {
    skip_misc();
    XmlNode root = element();
    skip_misc();
    if (i_ != s_.size()) fail("content after the root element");
    return root;
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw std::runtime_error("XML error at offset " + std::to_string(i_) + ": " + why);
  }
  void ws() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  bool starts(const char* p) const { return s_.compare(i_, std::strlen(p), p) == 0; }
  void skip_until(const char* end) {
    const auto k = s_.find(end, i_);
    if (k == std::string::npos) fail(std::string("no closing ") + end);
    i_ = k + std::strlen(end);
  }
  void skip_misc() {
    for (;;) {
      ws();
      if (starts("<?")) skip_until("?>");
      else if (starts("<!--")) skip_until("-->");
      else if (starts("<!")) skip_until(">");
      else return;
    }
  }
  static std::string unescape(const std::string& t) {
    std::string out;
    for (std::size_t k = 0; k < t.size(); ++k) {
      if (t[k] != '&') {
        out += t[k];
        continue;
      }
      const auto e = t.find(';', k);
      const std::string ent = t.substr(k + 1, e - k - 1);
      out += ent == "amp" ? '&' : ent == "lt" ? '<' : ent == "gt" ? '>' : ent == "quot" ? '"' : '\'';
      k = e;
    }
    return out;
  }
  std::string name() {
    const std::size_t b = i_;
    while (i_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '_' || s_[i_] == ':' ||
                              s_[i_] == '-' || s_[i_] == '.'))
      ++i_;
    if (i_ == b) fail("expected a name");
    return s_.substr(b, i_ - b);
  }
  XmlNode element() {
    if (!starts("<")) fail("expected <");
    ++i_;
    XmlNode n;
    n.name = name();
    for (;;) {
      ws();
      if (starts("/>")) {
        i_ += 2;
        return n;
      }
      if (starts(">")) {
        ++i_;
        break;
      }
      const std::string a = name();
      ws();
      if (!starts("=")) fail("expected = after attribute " + a);
      ++i_;
      ws();
      if (!starts("\"")) fail("expected \" for attribute " + a);
      const auto e = s_.find('"', i_ + 1);
      if (e == std::string::npos) fail("unterminated attribute");
      if (n.attrs.count(a)) fail("duplicate attribute " + a);
      n.attrs[a] = unescape(s_.substr(i_ + 1, e - i_ - 1));
      i_ = e + 1;
    }
    for (;;) {
      const auto lt = s_.find('<', i_);
      if (lt == std::string::npos) fail("unterminated element " + n.name);
      n.text += unescape(s_.substr(i_, lt - i_));
      i_ = lt;
      if (starts("</")) {
        i_ += 2;
        if (name() != n.name) fail("mismatched closing tag of " + n.name);
        ws();
        if (!starts(">")) fail("expected >");
        ++i_;
        return n;
      }
      if (starts("<!--")) {
        skip_until("-->");
        continue;
      }
      n.children.push_back(element());
    }
  }
  std::string s_;
  std::size_t i_ = 0;
};

std::vector<long long> ints(const std::string& text) {
  std::istringstream is(text);
  std::vector<long long> v;
  long long x;
  while (is >> x) v.push_back(x);
  return v;
}

// ---- helpers -------------------------------------------------------------------------------

std::string config_2d(int nx, int ny, const std::string& extra_output = "", int replicas = 1) {
  return "[lattice]\nshape = [" + std::to_string(nx) + ", " + std::to_string(ny) +
         "]\nspacing = 0.5\nfields = [\"w\", \"u\"]\nreplicas = " + std::to_string(replicas) +
         "\n[dynamics]\ngamma = 0.1\ndt = 0.05\nsteps = 40\n"
         "[[potential]]\nterm = \"mass\"\nfield = \"w\"\ncoefficient = 1.0\n"
         "[[potential]]\nterm = \"gradient\"\nfield = \"u\"\ncoefficient = 1.0\n"
         "[initial.w]\nkind = \"mode\"\nwavevector = [1, 2]\n"
         "[initial.u]\nkind = \"gaussian\"\nstd = 0.1\nseed = 3\n"
         "[output]\nobserve_every = 5\nsnapshot_every = 10\n" +
         extra_output;
}

// Smooth values (compressible, not trivially), [field][replica][site].
template <class Real>
std::vector<Real> smooth(std::size_t n, double phase) {
  std::vector<Real> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<Real>(std::sin(0.01 * i + phase) + 1e-3 * (i % 7));
  return v;
}

Observables observation(std::int64_t step, std::size_t fields) {
  Observables o;
  o.step = step;
  o.time = 0.5 * step;
  o.kinetic = 1.0 / (1 + step);
  o.potential = 2.0;
  o.mean.assign(fields, 0.25);
  o.rms.assign(fields, 0.5);
  return o;
}

std::vector<std::int64_t> steps_of(const std::string& file, const std::string& dataset) {
  const h5::File f = h5::File::open_read(file);
  const std::vector<double> d = f.read(dataset);
  return std::vector<std::int64_t>(d.begin(), d.end());
}

bool has_deflate(const std::string& file, const std::string& dataset) {
  const h5::File f = h5::File::open_read(file);
  h5::Handle ds(H5Dopen2(f.id(), dataset.c_str(), H5P_DEFAULT), H5Dclose);
  h5::Handle dcpl(H5Dget_create_plist(ds.get()), H5Pclose);
  for (int k = 0; k < H5Pget_nfilters(dcpl.get()); ++k) {
    unsigned flags = 0, cd[8];
    std::size_t ncd = 8;
    char name[64];
    if (H5Pget_filter2(dcpl.get(), k, &flags, &ncd, cd, sizeof name, name, nullptr) == H5Z_FILTER_DEFLATE)
      return true;
  }
  return false;
}

std::vector<hsize_t> dims_of(const h5::File& f, const std::string& dataset) {
  std::vector<hsize_t> dims;
  f.read(dataset, &dims);
  return dims;
}

// ---- the writer thread ---------------------------------------------------------------------

TEST(WriterThread, AtMostTwoHeavyTasksInFlight) {
  WriterThread w(2, 100);
  std::atomic<bool> release{false};
  std::atomic<int> ran{0};
  auto heavy = [&] {
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ++ran;
  };
  w.post(heavy, true);  // running, blocked
  w.post(heavy, true);  // queued
  std::atomic<bool> third_posted{false};
  std::thread t([&] {
    w.post(heavy, true);
    third_posted = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(third_posted) << "a third snapshot was queued while two were in flight";
  w.post([&] { ++ran; }, false);  // light tasks still queue
  release = true;
  t.join();
  EXPECT_TRUE(third_posted);
  w.drain();
  EXPECT_EQ(ran, 4);
}

TEST(WriterThread, ErrorSurfacesOnNextCall) {
  WriterThread w;
  int after = 0;
  w.post([] { throw h5::Error("out.h5:/snapshots/step: write failed"); });
  try {
    // dropped when queued before the writer met the error, refused with it when after
    // (the writer thread may run the first task before this post: both are the contract)
    w.post([&] { ++after; });
    w.drain();
    FAIL() << "no error";
  } catch (const h5::Error& e) {
    EXPECT_STREQ(e.what(), "out.h5:/snapshots/step: write failed");
  }
  EXPECT_THROW(w.post([] {}), h5::Error);
  EXPECT_THROW(w.stop(), h5::Error);
  EXPECT_EQ(after, 0);
}

// The buffers of a written snapshot come back through reuse(); data written are unchanged.
TEST(Output, WrittenSnapshotBuffersAreReused) {
  TempDir dir;
  const Problem p = test::parse_test_config(config_2d(16, 12));
  const std::size_t n = 2 * 16 * 12;
  RunWriter w(dir / "run.h5", p, Backend::cpu);
  std::vector<double> a, b;
  w.reuse(a, b);  // nothing written yet
  EXPECT_EQ(a.capacity(), 0u);
  w.snapshot<double>(0, 0.0, smooth<double>(n, 1), smooth<double>(n, 2));
  w.flush();
  w.reuse(a, b);
  EXPECT_GE(a.capacity(), n);
  EXPECT_GE(b.capacity(), n);
  a.assign(n, 7.0);  // overwriting the handed-back buffers must not touch the file
  b.assign(n, 8.0);
  w.snapshot<double>(10, 0.5, std::move(a), std::move(b));
  w.finish("complete");
  const h5::File f = h5::File::open_read(dir / "run.h5");
  const auto v = f.read("/snapshots/fields/w");
  const auto ref = smooth<double>(n, 1);
  for (std::size_t i = 0; i < n / 2; ++i) ASSERT_EQ(v[i], ref[i]);
  for (std::size_t i = 0; i < n / 2; ++i) ASSERT_EQ(v[n / 2 + i], 7.0);
}

// ---- SWMR: reading a run while it writes -----------------------------------------------------

// Opens `file` read-only (SWMR when the writer is running) and reads the observables'
// step and time columns as one consistent row count: the step column is opened first and
// the time column must hold at least as many rows (the writer flushes the step column of a
// row last); the extents are refreshed until both agree (a reader may land between the
// flushes of one row's columns).
struct Observed {
  bool ok = false, swmr = false;
  std::vector<double> step, time;
  hsize_t snapshots = 0;
};

Observed read_running(const std::string& file) {
  Observed r;
  std::unique_ptr<h5::File> f;
  try {
    f = std::make_unique<h5::File>(h5::File::open_read(file));
  } catch (const h5::Error&) {
    return r;  // renamed away between the check and the open
  }
  r.swmr = f->swmr_read();
  h5::Handle s(H5Dopen2(f->id(), "/observables/step", H5P_DEFAULT), H5Dclose);
  h5::Handle t(H5Dopen2(f->id(), "/observables/time", H5P_DEFAULT), H5Dclose);
  h5::Handle ss(H5Dopen2(f->id(), "/snapshots/step", H5P_DEFAULT), H5Dclose);
  if (!s || !t || !ss) return r;
  auto rows = [](hid_t ds) {
    h5::Handle sp(H5Dget_space(ds), H5Sclose);
    hsize_t d = 0;
    H5Sget_simple_extent_dims(sp.get(), &d, nullptr);
    return d;
  };
  // The writer flushes the step column last, so every other column is at least as long.
  hsize_t ns = rows(s.get()), nt = rows(t.get());
  if (nt < ns) ADD_FAILURE() << file << ": step has " << ns << " rows but time only " << nt;
  for (int attempt = 0; attempt < 1000 && ns != nt; ++attempt) {
    std::this_thread::sleep_for(std::chrono::microseconds(500));
    if (r.swmr) {
      H5Drefresh(s.get());
      H5Drefresh(t.get());
    }
    ns = rows(s.get());
    nt = rows(t.get());
  }
  if (ns != nt) {
    ADD_FAILURE() << file << ": step has " << ns << " rows, time " << nt;
    return r;
  }
  r.step.resize(ns);
  r.time.resize(nt);
  if (ns > 0) {
    h5::Handle fs(H5Dget_space(s.get()), H5Sclose), ft(H5Dget_space(t.get()), H5Sclose);
    h5::Handle ms(H5Screate_simple(1, &ns, nullptr), H5Sclose);
    const hsize_t zero = 0;
    H5Sselect_hyperslab(fs.get(), H5S_SELECT_SET, &zero, nullptr, &ns, nullptr);
    H5Sselect_hyperslab(ft.get(), H5S_SELECT_SET, &zero, nullptr, &ns, nullptr);
    if (H5Dread(s.get(), H5T_NATIVE_DOUBLE, ms.get(), fs.get(), H5P_DEFAULT, r.step.data()) < 0 ||
        H5Dread(t.get(), H5T_NATIVE_DOUBLE, ms.get(), ft.get(), H5P_DEFAULT, r.time.data()) < 0) {
      ADD_FAILURE() << file << ": reading " << ns << " rows failed";
      return r;
    }
  }
  if (r.swmr) H5Drefresh(ss.get());
  r.snapshots = rows(ss.get());
  r.ok = true;
  return r;
}

TEST(Output, ReaderSeesConsistentGrowingDatasetsWhileRunWrites) {
  TempDir dir;
  const int steps = 60000, every = 20;
  const double dt = 0.01;
  test::write_text(dir / "long.toml",
                   "[lattice]\nshape = [16384]\nspacing = 0.1\n[dynamics]\ngamma = 0.1\ndt = " + test::num(dt) +
                       "\nsteps = " + std::to_string(steps) +
                       "\n[[potential]]\nterm = \"mass\"\nfield = \"w\"\ncoefficient = 1.0\n"
                       "[initial.w]\nkind = \"mode\"\nwavevector = [3]\n"
                       "[output]\nfile = \"long.h5\"\nobserve_every = " +
                       std::to_string(every) + "\nsnapshot_every = 5000\ncompression = 1\n");
  const std::string cmd = "cd '" + dir.str() + "' && OMP_NUM_THREADS=1 exec '" SYNFIELD_EXE "' run long.toml -q";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const std::string partial = dir / "long.h5.partial";
  hsize_t last_rows = 0, last_snaps = 0;
  std::int64_t last_info_step = -1;
  int reads_while_running = 0, swmr_reads = 0, info_reads = 0, polls = 0;
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(3);
  for (;;) {
    if (waitpid(pid, &status, WNOHANG) == pid) break;
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the run did not end";
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    std::error_code ec;
    if (!fs::exists(partial, ec)) continue;
    const Observed o = read_running(partial);
    if (!o.ok) continue;
    ++polls;
    if (o.swmr) ++swmr_reads;
    const hsize_t n = o.step.size();
    EXPECT_GE(n, last_rows) << "the observation rows shrank";
    EXPECT_GE(o.snapshots, last_snaps) << "the snapshot rows shrank";
    last_rows = n;
    last_snaps = o.snapshots;
    for (hsize_t k = 0; k < n; ++k) {
      ASSERT_EQ(o.step[k], double(k * every)) << "row " << k << " of " << n;
      ASSERT_NEAR(o.time[k], k * every * dt, 1e-9 * (1 + k * every * dt)) << "row " << k;
    }
    if (n > 0 && n < steps / every + 1u) ++reads_while_running;
    if (polls % 4 == 0) {  // and the command, in yet another process
      const auto r = test::run_exe(dir.str(), SYNFIELD_EXE, "info long.h5.partial");
      if (r.status != 0) continue;  // renamed to long.h5 meanwhile
      std::smatch m;
      const std::regex done("steps done:  ([0-9]+) of " + std::to_string(steps));
      if (std::regex_search(r.out, m, done)) {
        const std::int64_t s = std::stoll(m[1]);
        EXPECT_GE(s, last_info_step) << r.out;
        last_info_step = s;
        if (s < steps) {
          ++info_reads;
          EXPECT_NE(r.out.find("status:      running"), std::string::npos) << r.out;
          EXPECT_NE(r.out.find("opened:      read-only, SWMR"), std::string::npos) << r.out;
        }
      }
    }
  }
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "synfield run failed: " << status;
  EXPECT_GE(reads_while_running, 3) << "too few reads while the run wrote (" << polls << " polls)";
  EXPECT_GE(swmr_reads, 3);
  EXPECT_GE(info_reads, 1) << "synfield info never saw the run in progress";
  // the finished file: every row, complete
  const Observed o = read_running(dir / "long.h5");
  ASSERT_TRUE(o.ok);
  EXPECT_FALSE(o.swmr);
  EXPECT_EQ(o.step.size(), steps / every + 1u);
  EXPECT_EQ(o.snapshots, steps / 5000 + 1u);
  EXPECT_EQ(h5::File::open_read(dir / "long.h5").attr_string("status"), "complete");
  std::printf("[          ] %d polls, %d read the run in progress (%d by synfield info)\n", polls,
              reads_while_running, info_reads);
}

// ---- compression -----------------------------------------------------------------------------

template <class Real>
void compression_round_trip(const std::string& precision) {
  TempDir dir;
  const std::string base =
      test::edit(config_2d(48, 40, "", 2), "steps = 40\n", "steps = 40\nprecision = \"" + precision + "\"\n");
  std::map<int, std::string> files;
  for (int level : {0, 6}) {
    const Problem p = test::parse_test_config(base + "compression = " + std::to_string(level) + "\n");
    const std::string out = dir / ("c" + std::to_string(level) + ".h5");
    RunWriter w(out, p, Backend::cpu);
    const std::size_t n = 2 * 2 * 48 * 40;
    for (int k = 0; k < 4; ++k) {
      w.observe(observation(10 * k, 2));
      w.snapshot<Real>(10 * k, 0.5 * k, smooth<Real>(n, k), smooth<Real>(n, 2.0 * k));
    }
    w.finish("complete");
    files[level] = out;
  }
  for (const std::string ds : {"/snapshots/fields/w", "/snapshots/fields/u", "/snapshots/velocities/w",
                               "/snapshots/velocities/u"}) {
    const h5::File a = h5::File::open_read(files[0]), b = h5::File::open_read(files[6]);
    std::vector<hsize_t> da, db;
    const auto va = a.read(ds, &da), vb = b.read(ds, &db);
    EXPECT_EQ(da, (std::vector<hsize_t>{4, 2, 48, 40})) << ds;
    EXPECT_EQ(da, db) << ds;
    EXPECT_TRUE(va == vb) << ds << ": the compressed data differ";
    EXPECT_FALSE(has_deflate(files[0], ds)) << ds;
    EXPECT_TRUE(has_deflate(files[6], ds)) << ds;
    h5::Handle sa(H5Dopen2(a.id(), ds.c_str(), H5P_DEFAULT), H5Dclose), sb(H5Dopen2(b.id(), ds.c_str(), H5P_DEFAULT),
                                                                           H5Dclose);
    EXPECT_LT(H5Dget_storage_size(sb.get()), H5Dget_storage_size(sa.get())) << ds << ": not smaller compressed";
  }
  // the observables are the same too (never compressed)
  EXPECT_EQ(h5::File::open_read(files[0]).read("/observables/energy"),
            h5::File::open_read(files[6]).read("/observables/energy"));
}

TEST(Output, CompressionRoundTripFloat64) { compression_round_trip<double>("float64"); }
TEST(Output, CompressionRoundTripFloat32) { compression_round_trip<float>("float32"); }

// End to end: the same run with and without compression, compared by `synfield compare`.
TEST(Output, CompressedRunEqualsUncompressed) {
  TempDir dir;
  test::write_text(dir / "plain.toml", config_2d(20, 18, "compression = 0\n"));
  test::write_text(dir / "packed.toml", config_2d(20, 18, "compression = 9\n"));
  ASSERT_EQ(test::run_exe(dir.str(), SYNFIELD_EXE, "run plain.toml -q -o plain.h5").status, 0);
  ASSERT_EQ(test::run_exe(dir.str(), SYNFIELD_EXE, "run packed.toml -q -o packed.h5").status, 0);
  const auto r = test::run_exe(dir.str(), SYNFIELD_EXE, "compare plain.h5 packed.h5 --rtol 0 --atol 0 --strict");
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_TRUE(has_deflate(dir / "packed.h5", "/snapshots/fields/w"));
  EXPECT_TRUE(has_deflate(dir / "packed.h5", "/snapshots/velocities/u"));
  EXPECT_FALSE(has_deflate(dir / "packed.h5", "/observables/energy"));
  EXPECT_FALSE(has_deflate(dir / "plain.h5", "/snapshots/fields/w"));
}

// ---- XDMF ------------------------------------------------------------------------------------

// Checks `xmf` against the HDF5 file it names (beside it): every reference exists with the
// dims given, the hyperslab selects snapshot k, replica r, the whole lattice.
void check_xdmf(const std::string& xmf, const std::string& expect_h5_name, int dim, int fields, int replicas) {
  SCOPED_TRACE(xmf);
  ASSERT_TRUE(fs::exists(xmf));
  const XmlNode root = XmlParser(test::read_bytes(xmf)).parse();
  ASSERT_EQ(root.name, "Xdmf");
  const XmlNode& coll = root.one("Domain").one("Grid");
  EXPECT_EQ(coll.attrs.at("GridType"), "Collection");
  EXPECT_EQ(coll.attrs.at("CollectionType"), "Temporal");
  const fs::path folder = fs::path(xmf).parent_path();
  const h5::File f = h5::File::open_read((folder / expect_h5_name).string());
  const std::vector<double> times = f.read("/snapshots/time");
  const auto grids = coll.all("Grid");
  ASSERT_EQ(grids.size(), times.size());
  std::map<std::string, std::vector<hsize_t>> dims_cache;
  for (std::size_t k = 0; k < grids.size(); ++k) {
    const XmlNode& g = *grids[k];
    EXPECT_DOUBLE_EQ(std::stod(g.one("Time").attrs.at("Value")), times[k]);
    const XmlNode& topo = g.one("Topology");
    EXPECT_EQ(topo.attrs.at("TopologyType"), std::to_string(dim) + "DCoRectMesh");
    const std::vector<long long> mesh = ints(topo.attrs.at("Dimensions"));
    ASSERT_EQ(mesh.size(), std::size_t(dim));
    const XmlNode& geo = g.one("Geometry");
    EXPECT_EQ(geo.attrs.at("GeometryType"), dim == 3 ? "ORIGIN_DXDYDZ" : "ORIGIN_DXDY");
    ASSERT_EQ(geo.all("DataItem").size(), 2u);
    const auto attrs = g.all("Attribute");
    ASSERT_EQ(attrs.size(), std::size_t(2 * fields * replicas));  // fields and velocities
    for (const XmlNode* a : attrs) {
      const XmlNode& slab = a->one("DataItem");
      EXPECT_EQ(slab.attrs.at("ItemType"), "HyperSlab");
      EXPECT_EQ(ints(slab.attrs.at("Dimensions")), mesh);
      const auto items = slab.all("DataItem");
      ASSERT_EQ(items.size(), 2u);
      const XmlNode& ref = *items[1];
      EXPECT_EQ(ref.attrs.at("Format"), "HDF");
      std::string text = ref.text;
      text.erase(0, text.find_first_not_of(" \n"));
      text.erase(text.find_last_not_of(" \n") + 1);
      const auto colon = text.find(':');
      ASSERT_NE(colon, std::string::npos) << text;
      EXPECT_EQ(text.substr(0, colon), expect_h5_name);
      const std::string ds = text.substr(colon + 1);
      ASSERT_TRUE(f.exists(ds)) << ds;
      if (!dims_cache.count(ds)) dims_cache[ds] = dims_of(f, ds);
      const std::vector<hsize_t>& d = dims_cache[ds];
      std::vector<long long> want(d.begin(), d.end());
      EXPECT_EQ(ints(ref.attrs.at("Dimensions")), want) << ds;
      ASSERT_EQ(d.size(), std::size_t(dim + 2));
      EXPECT_EQ(d[0], times.size());
      EXPECT_EQ(d[1], hsize_t(replicas));
      for (int mu = 0; mu < dim; ++mu) EXPECT_EQ(d[2 + mu], hsize_t(mesh[mu]));
      const std::vector<long long> sel = ints(items[0]->text);
      ASSERT_EQ(sel.size(), std::size_t(3 * (dim + 2)));
      EXPECT_EQ(sel[0], static_cast<long long>(k));
      EXPECT_LT(sel[1], replicas);
      for (int j = 0; j < dim + 2; ++j) {
        EXPECT_EQ(sel[dim + 2 + j], 1);  // stride
        const long long count = sel[2 * (dim + 2) + j];
        EXPECT_EQ(count, j < 2 ? 1 : mesh[j - 2]);
        EXPECT_LE(sel[j] + count, (long long)d[j]);
      }
      const std::string name = a->attrs.at("Name");
      const bool velocity = ds.rfind("/snapshots/velocities/", 0) == 0;
      const std::string field = ds.substr(ds.rfind('/') + 1);
      EXPECT_EQ(name, xdmf_attribute_name(field, int(sel[1]), replicas, velocity));
    }
  }
}

TEST(Output, XdmfFor2dAnd3dRuns) {
  TempDir dir;
  test::write_text(dir / "a.toml", config_2d(12, 10, "", 3));
  ASSERT_EQ(test::run_exe(dir.str(), SYNFIELD_EXE, "run a.toml -q -o two.h5").status, 0);
  check_xdmf(dir / "two.xmf", "two.h5", 2, 2, 3);
  test::write_text(dir / "b.toml",
                   "[lattice]\nshape = [6, 5, 4]\nspacing = 0.25\n[dynamics]\ndt = 0.01\nsteps = 20\n"
                   "[[potential]]\nterm = \"mass\"\nfield = \"w\"\ncoefficient = 1.0\n"
                   "[initial.w]\nkind = \"mode\"\nwavevector = [1, 1, 1]\n"
                   "[output]\nsnapshot_every = 5\n");
  const auto r = test::run_exe(dir.str(), SYNFIELD_EXE, "run b.toml -q -o three.h5 --set dynamics.precision=float32");
  ASSERT_EQ(r.status, 0) << r.err;
  check_xdmf(dir / "three.xmf", "three.h5", 3, 1, 1);
  EXPECT_NE(test::read_bytes(dir / "three.xmf").find("Precision=\"4\" Format=\"HDF\""), std::string::npos);
  // 1-D: no side file
  test::write_text(dir / "c.toml",
                   "[lattice]\nshape = [16]\n[dynamics]\ndt = 0.01\nsteps = 4\n"
                   "[[potential]]\nterm = \"mass\"\nfield = \"w\"\ncoefficient = 1.0\n");
  ASSERT_EQ(test::run_exe(dir.str(), SYNFIELD_EXE, "run c.toml -q -o one.h5").status, 0);
  EXPECT_FALSE(fs::exists(dir / "one.xmf"));
}

// Not complete: the side file refers to the .partial file, which holds the status.
TEST(Output, XdmfOfAnInterruptedRunNamesThePartialFile) {
  TempDir dir;
  const Problem p = test::parse_test_config(config_2d(8, 6));
  const std::string out = dir / "run.h5";
  RunWriter w(out, p, Backend::cpu);
  EXPECT_EQ(w.xdmf_path(), dir / "run.xmf");
  const std::size_t n = 2 * 8 * 6;
  for (int k = 0; k < 3; ++k) {
    w.observe(observation(10 * k, 2));
    w.snapshot<double>(10 * k, 0.5 * k, smooth<double>(n, k), smooth<double>(n, -k));
  }
  w.finish("interrupted at step 20: SIGINT");
  EXPECT_FALSE(fs::exists(out));
  EXPECT_EQ(h5::File::open_read(out + ".partial").attr_string("status"), "interrupted at step 20: SIGINT");
  check_xdmf(dir / "run.xmf", "run.h5.partial", 2, 2, 1);
}

// ---- errors on the writer thread ---------------------------------------------------------

// In a child process with a 1 MiB file-size limit (SIGXFSZ ignored: writes past it fail
// with EFBIG), snapshots of 512 KiB each soon fail inside HDF5 on the writer thread; the
// error must reach the caller as h5::Error naming the file and the dataset.
// A part of a row (Series::append_part) goes only to a file opened by all the ranks of a Comm
// together, and such a file needs MPI ranks and parallel HDF5: ranks that are threads
// (tests/common/thread_comm.h) get an error naming the file, in either build.
TEST(Output, RowPartsNeedACollectiveMpiFile) {
  TempDir dir;
  const std::string path = dir / "parts.h5";
  h5::File f = h5::File::create(path, true);
  h5::Series s(f, "/snapshots/fields/w", H5T_NATIVE_DOUBLE, {2, 4});
  const std::vector<double> part(8, 1.0);
  try {
    s.append_part(part.data(), 1, 0, 4);
    ADD_FAILURE() << "append_part on a file of one process";
  } catch (const h5::Error& e) {
    EXPECT_NE(std::string(e.what()).find("collective file"), std::string::npos) << e.what();
  }
  EXPECT_EQ(s.rows(), 0u);
  s.append(part.data());  // a whole row still goes
  EXPECT_EQ(s.rows(), 1u);
  test::run_ranks(2, [&](const Comm& comm) {
    const std::string other = dir / "threads.h5";
    try {
      h5::File::create(other, true, &comm);
      ADD_FAILURE() << "a collective file for ranks that are threads";
    } catch (const h5::Error& e) {
      EXPECT_NE(std::string(e.what()).find(other), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(h5::parallel_io() ? "MPI-IO needs MPI ranks" : "not parallel HDF5"),
                std::string::npos)
          << e.what();
    }
  });
}

TEST(Output, WriterThreadErrorSurfacesOnNextCall) {
  TempDir dir;
  const std::string out = dir / "full.h5", msg_file = dir / "message.txt";
  const Problem p = test::parse_test_config(
      "[lattice]\nshape = [256, 128]\n[dynamics]\ndt = 0.01\nsteps = 100\n[output]\nsnapshot_every = 1\n");
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    signal(SIGXFSZ, SIG_IGN);
    rlimit lim{1 << 20, 1 << 20};
    setrlimit(RLIMIT_FSIZE, &lim);
    int code = 10;
    std::string message;
    try {
      RunWriter w(out, p, Backend::cpu);
      const std::size_t n = 256 * 128;
      int k = 0;
      try {
        for (; k < 50; ++k) {
          w.observe(observation(k, 1));
          w.snapshot<double>(k, 0.01 * k, smooth<double>(n, k), smooth<double>(n, k + 1));
        }
        w.flush();
        code = 11;  // never failed
      } catch (const h5::Error& e) {
        message = e.what();
        code = k < 50 ? 0 : 1;  // 0: by a later snapshot/observe call; 1: by flush
        // the error stays: the next calls throw it again, and finish reports it
        try {
          w.observe(observation(1000, 1));
          code = 12;
        } catch (const h5::Error& e2) {
          if (std::string(e2.what()) != message) code = 13;
        }
        try {
          w.finish("complete");
          code = 14;
        } catch (const h5::Error&) {
        }
      }
    } catch (const std::exception& e) {
      message = std::string("unexpected: ") + e.what();
      code = 15;
    }
    signal(SIGXFSZ, SIG_DFL);
    lim = {RLIM_INFINITY, RLIM_INFINITY};
    setrlimit(RLIMIT_FSIZE, &lim);  // may fail to raise; the message is small
    test::write_text(msg_file, message);
    _exit(code);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  const std::string message = test::read_bytes(msg_file);
  EXPECT_LE(WEXITSTATUS(status), 1) << "child code " << WEXITSTATUS(status) << ": " << message;
  // the file and the dataset whose write or flush failed (a snapshot's, or an observation's
  // flushed after it)
  EXPECT_TRUE(test::contains_all(message, {out + ".partial:/"})) << message;
  EXPECT_TRUE(std::regex_search(message, std::regex(":/(snapshots|observables)/[a-z/]+"))) << message;
  EXPECT_FALSE(fs::exists(out)) << "a failed run must not become the final file";
}

// ---- resume ----------------------------------------------------------------------------------

void write_rows(RunWriter& w, std::int64_t from, std::int64_t to, std::size_t n) {
  for (std::int64_t s = from; s <= to; s += 10) {
    w.observe(observation(s, 2));
    if (s % 50 == 0) w.snapshot<double>(s, 0.5 * s, smooth<double>(n, s), smooth<double>(n, -s));
  }
}

TEST(Output, ResumeDropsRowsAfterTheCheckpointAndContinues) {
  TempDir dir;
  const Problem p = test::parse_test_config(config_2d(8, 6));
  const std::string out = dir / "run.h5";
  const std::size_t n = 2 * 8 * 6;
  {
    RunWriter w(out, p, Backend::cpu);
    write_rows(w, 0, 120, n);  // rows after the checkpoint at 100 too: 110, 120
    w.finish("interrupted at step 120: SIGTERM");
  }
  {
    RunWriter w = RunWriter::resume(out, p, Backend::cpu, 100);
    w.flush();
    EXPECT_EQ(steps_of(out + ".partial", "/observables/step").size(), 11u);  // 0..100
    EXPECT_EQ(h5::File::open_read(out + ".partial").attr_string("status"), "running");
    write_rows(w, 110, 200, n);
    w.finish("complete");
  }
  std::vector<std::int64_t> want;
  for (std::int64_t s = 0; s <= 200; s += 10) want.push_back(s);
  EXPECT_EQ(steps_of(out, "/observables/step"), want);
  EXPECT_EQ(steps_of(out, "/snapshots/step"), (std::vector<std::int64_t>{0, 50, 100, 150, 200}));
  const h5::File f = h5::File::open_read(out);
  EXPECT_EQ(f.attr_string("status"), "complete");
  EXPECT_EQ(dims_of(f, "/snapshots/fields/u"), (std::vector<hsize_t>{5, 1, 8, 6}));
  EXPECT_EQ(dims_of(f, "/observables/rms/w"), (std::vector<hsize_t>{21}));
  const auto w150 = f.read("/snapshots/fields/w");
  const auto ref = smooth<double>(n, 150);
  for (std::size_t i = 0; i < n / 2; ++i) ASSERT_EQ(w150[3 * n / 2 + i], ref[i]);
  check_xdmf(dir / "run.xmf", "run.h5", 2, 2, 1);
}

// A writer killed mid-run leaves the file marked "open for SWMR writing": resume clears it.
TEST(Output, ResumeAfterTheWriterWasKilled) {
  TempDir dir;
  const Problem p = test::parse_test_config(config_2d(8, 6));
  const std::string out = dir / "run.h5";
  const std::size_t n = 2 * 8 * 6;
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto* w = new RunWriter(out, p, Backend::cpu);  // never closed
    write_rows(*w, 0, 80, n);
    w->flush();
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  RunWriter w = RunWriter::resume(out, p, Backend::cpu, 50);
  write_rows(w, 60, 100, n);
  w.finish("complete");
  std::vector<std::int64_t> want;
  for (std::int64_t s = 0; s <= 100; s += 10) want.push_back(s);
  EXPECT_EQ(steps_of(out, "/observables/step"), want);
  EXPECT_EQ(steps_of(out, "/snapshots/step"), (std::vector<std::int64_t>{0, 50, 100}));
}

TEST(Output, ResumeErrorsNameTheFile) {
  TempDir dir;
  const Problem p = test::parse_test_config(config_2d(8, 6));
  const std::string out = dir / "run.h5";
  auto error = [&](const Problem& q) {
    try {
      RunWriter::resume(out, q, Backend::cpu, 10);
    } catch (const h5::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_TRUE(test::contains_all(error(p), {out + ".partial", "no such file"}));
  test::write_h5(out + ".partial", "/x", {1.0}, {1});
  EXPECT_TRUE(test::contains_all(error(p), {out + ".partial", "not a synfield file"}));
  test::write_text(out + ".partial", "not HDF5 at all");
  EXPECT_TRUE(test::contains_all(error(p), {out + ".partial", "not an HDF5 file"}));
  {
    RunWriter w(out, p, Backend::cpu);
    write_rows(w, 0, 20, 2 * 8 * 6);
    w.finish("interrupted at step 20: SIGINT");
  }
  Problem other = test::parse_test_config(test::edit(config_2d(8, 6), "dt = 0.05", "dt = 0.04"));
  EXPECT_TRUE(test::contains_all(error(other), {out + ".partial", "config differs"}));
  // the file is untouched by the refused resume
  EXPECT_EQ(h5::File::open_read(out + ".partial").attr_string("status"), "interrupted at step 20: SIGINT");
  EXPECT_EQ(steps_of(out + ".partial", "/observables/step").size(), 3u);
}

}  // namespace
}  // namespace synfield
