// Checkpoint files (host/io/checkpoint.h). Truth: a write/read round trip returns every value
// exactly; the write goes to PATH.tmp and is renamed over PATH, so a write that fails part
// way leaves the previous checkpoint intact and readable; a truncated, corrupted or foreign
// file is a CheckpointError naming the file.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "common/test_util.h"
#include "host/io/checkpoint.h"

namespace synfield {
namespace {

namespace fs = std::filesystem;

Checkpoint sample(Precision prec, double salt) {
  Checkpoint c;
  c.config = "[lattice]\nshape = [3]\n# salt " + std::to_string(salt) + "\n";
  c.config_file = "run.toml";
  c.output = "/somewhere/out.h5";
  c.backend = "cpu";
  c.precision = prec;
  c.threads = 3;
  c.step = 1234;
  c.steps = 5000;
  c.time = 12.34 + salt;
  c.dissipated = 0.1 + salt;
  c.energy_ref = std::nan("");
  c.scale_ref = 2.5;
  c.model_seed = 0xfedcba9876543210ull;
  c.initial_seeds = {1, 2, 3, 4};
  c.shape = {2, 1, 3};
  for (int i = 0; i < 6; ++i) {
    const double w = std::sin(i + salt) / 3.0, pi = std::cos(i * salt) * 1e-7;
    if (prec == Precision::float32) {
      c.w32.push_back(static_cast<float>(w));
      c.pi32.push_back(static_cast<float>(pi));
    } else {
      c.w64.push_back(w);
      c.pi64.push_back(pi);
    }
  }
  c.bias = {0.5 + salt, -0.25};
  c.bias_velocity = {1e-300, -0.0};
  c.bias_shape = {1, 2};
  return c;
}

void expect_same(const Checkpoint& a, const Checkpoint& b) {
  EXPECT_EQ(a.config, b.config);
  EXPECT_EQ(a.config_file, b.config_file);
  EXPECT_EQ(a.output, b.output);
  EXPECT_EQ(a.backend, b.backend);
  EXPECT_EQ(a.precision, b.precision);
  EXPECT_EQ(a.threads, b.threads);
  EXPECT_EQ(a.step, b.step);
  EXPECT_EQ(a.steps, b.steps);
  EXPECT_EQ(a.time, b.time);
  EXPECT_EQ(a.dissipated, b.dissipated);
  EXPECT_EQ(std::isnan(a.energy_ref), std::isnan(b.energy_ref));
  EXPECT_EQ(a.scale_ref, b.scale_ref);
  EXPECT_EQ(a.model_seed, b.model_seed);
  EXPECT_EQ(a.initial_seeds, b.initial_seeds);
  EXPECT_EQ(a.shape, b.shape);
  EXPECT_EQ(a.w32, b.w32);
  EXPECT_EQ(a.pi32, b.pi32);
  EXPECT_EQ(a.w64, b.w64);
  EXPECT_EQ(a.pi64, b.pi64);
  EXPECT_EQ(a.bias, b.bias);
  EXPECT_EQ(a.bias_velocity, b.bias_velocity);
  EXPECT_EQ(a.bias_shape, b.bias_shape);
}

// The message of read_checkpoint(path)'s CheckpointError ("" when it did not throw).
std::string read_error(const std::string& path) {
  try {
    read_checkpoint(path);
  } catch (const CheckpointError& e) {
    return e.what();
  }
  return "";
}

TEST(Checkpoint, RoundTripIsExact) {
  test::TempDir dir;
  for (const Precision prec : {Precision::float32, Precision::float64}) {
    const Checkpoint c = sample(prec, 0.3);
    write_checkpoint(dir / "c.ckpt.h5", c);
    expect_same(read_checkpoint(dir / "c.ckpt.h5"), c);
    EXPECT_FALSE(fs::exists(dir / "c.ckpt.h5.tmp"));
  }
}

// The write goes through PATH.tmp: when that cannot be written (here a folder sits at that
// name), the write fails and PATH still holds the previous, complete checkpoint.
TEST(Checkpoint, WriteIsAtomic) {
  test::TempDir dir;
  const std::string path = dir / "c.ckpt.h5";
  const Checkpoint first = sample(Precision::float64, 0.1);
  write_checkpoint(path, first);
  const std::string before = test::read_bytes(path);
  fs::create_directory(path + ".tmp");
  try {
    write_checkpoint(path, sample(Precision::float64, 0.9));
    ADD_FAILURE() << "the write should have failed";
  } catch (const CheckpointError& e) {
    EXPECT_TRUE(test::contains_all(e.what(), {path, ".tmp"}));
  }
  EXPECT_EQ(test::read_bytes(path), before);
  expect_same(read_checkpoint(path), first);
  fs::remove(path + ".tmp");
  // and a later write replaces it whole
  const Checkpoint second = sample(Precision::float64, 0.9);
  write_checkpoint(path, second);
  expect_same(read_checkpoint(path), second);
}

TEST(Checkpoint, TruncatedCorruptOrForeignFilesAreNamedErrors) {
  test::TempDir dir;
  const std::string path = dir / "c.ckpt.h5";
  write_checkpoint(path, sample(Precision::float32, 0.2));
  const std::string bytes = test::read_bytes(path);

  // truncated at several lengths
  for (const double frac : {0.0, 0.1, 0.5, 0.9}) {
    const std::string cut = dir / "cut.ckpt.h5";
    test::write_text(cut, bytes.substr(0, static_cast<std::size_t>(frac * bytes.size())));
    const std::string msg = read_error(cut);
    EXPECT_TRUE(test::contains_all(msg, {cut})) << "truncated to " << frac << ": \"" << msg << "\"";
  }
  // a value changed inside the file (a flipped bit the HDF5 layer cannot see): the checksum
  {
    const std::string bad = dir / "bad.ckpt.h5";
    fs::copy_file(path, bad);
    const hid_t f = H5Fopen(bad.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_GE(f, 0);
    const hid_t ds = H5Dopen2(f, "/state/w", H5P_DEFAULT);
    std::vector<float> w(6);
    H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, w.data());
    w[4] = std::nextafter(w[4], 1.0f);
    H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, w.data());
    H5Dclose(ds);
    H5Fclose(f);
    EXPECT_TRUE(test::contains_all(read_error(bad), {bad, "checksum", "corrupt"}));
  }
  // not HDF5, missing, another HDF5 file
  test::write_text(dir / "text.h5", "[lattice]\nshape = [3]\n");
  EXPECT_TRUE(test::contains_all(read_error(dir / "text.h5"), {dir / "text.h5", "not an HDF5 file"}));
  EXPECT_TRUE(test::contains_all(read_error(dir / "none.h5"), {dir / "none.h5", "no such file"}));
  test::write_h5(dir / "other.h5", "/x", {1, 2}, {2});
  EXPECT_TRUE(test::contains_all(read_error(dir / "other.h5"), {dir / "other.h5", "not a synfield checkpoint"}));
}

}  // namespace
}  // namespace synfield
