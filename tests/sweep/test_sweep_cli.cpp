// `synfield sweep` and `synfield bench` run as the built binary in a fresh folder.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.h"

namespace synfield {
namespace {

namespace fs = std::filesystem;

const std::string kSmooth = std::string(SYNFIELD_EXAMPLES_DIR) + "/smooth_sweep.toml";
const std::string kBench = std::string(SYNFIELD_EXAMPLES_DIR) + "/bench_perceptron.toml";
const std::string kTools = std::string(SYNFIELD_EXAMPLES_DIR) + "/../../tools";

class SweepCli : public ::testing::Test {
 protected:
  test::CommandResult run(const std::string& args) { return test::run_exe(dir_.str(), SYNFIELD_EXE, args, 1); }
  bool exists(const std::string& name) const { return fs::exists(dir_.path() / name); }
  // The CSV file as rows of cells (no quoted commas in the columns read here).
  std::vector<std::vector<std::string>> csv(const std::string& name) const {
    std::vector<std::vector<std::string>> rows;
    std::ifstream in(dir_ / name);
    for (std::string line; std::getline(in, line);) {
      std::vector<std::string> cells;
      std::string cell;
      bool quoted = false;
      for (char c : line) {
        if (c == '"') quoted = !quoted;
        else if (c == ',' && !quoted) cells.push_back(cell), cell.clear();
        else cell += c;
      }
      cells.push_back(cell);
      rows.push_back(cells);
    }
    return rows;
  }
  test::TempDir dir_;
};

// The example's four widths at a fixed extent: the gradient prior's lattice Laplacian is the
// only width-dependent error (the smooth inputs are band-limited, so the Riemann sums of the
// cost are exact at these widths), so the fields and the loss converge at order 2.
TEST_F(SweepCli, SmoothWidthSweepConvergesAtOrderTwo) {
  const test::CommandResult r = run("sweep '" + kSmooth + "' -o sm.h5");
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* f : {"sm.p0_shape-32.h5", "sm.p3_shape-256.h5", "sm.sweep.csv", "sm.sweep.h5", "sm.continuum.csv",
                        "sm.p2.row.csv"})
    EXPECT_TRUE(exists(f)) << f;
  const auto summary = csv("sm.sweep.csv");
  ASSERT_EQ(summary.size(), 5u);
  EXPECT_EQ(summary[0][0], "index");
  EXPECT_EQ(summary[0][1], "lattice.shape");
  for (std::size_t i = 1; i < 5; ++i) EXPECT_EQ(summary[i][2], "complete") << i;
  const auto cont = csv("sm.continuum.csv");
  ASSERT_EQ(cont.size(), 5u);
  // header: group,index,sites,spacing,loss,field_difference,order,loss_order,richardson_loss,richardson_order
  EXPECT_EQ(cont[4][2], "256");
  EXPECT_DOUBLE_EQ(std::stod(cont[4][3]), 1.0 / 256);
  for (std::size_t i : {3u, 4u}) {
    EXPECT_NEAR(std::stod(cont[i][6]), 2.0, 0.05) << "field order, row " << i;
    EXPECT_NEAR(std::stod(cont[i][7]), 2.0, 0.05) << "loss order, row " << i;
  }
  // Richardson lies beyond the finest loss, closer to it than the last difference
  const double l3 = std::stod(cont[3][4]), l4 = std::stod(cont[4][4]), rich = std::stod(cont[4][8]);
  EXPECT_LT(std::abs(rich - l4), std::abs(l4 - l3));
  EXPECT_GT((rich - l4) * (l4 - l3), 0.0);
  EXPECT_NE(r.out.find("Richardson-extrapolated loss"), std::string::npos) << r.out;
}

// A point far larger than this machine is refused with its estimate before its data set is
// built; the other points run and the sweep exits 1.
TEST_F(SweepCli, PointTooLargeIsRefusedWithItsEstimateAndTheOthersRun) {
  const test::CommandResult r =
      run("sweep '" + kSmooth + "' -o big.h5 --over 'lattice.shape=[32],[2000000000],[64]' -q");
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("point 1 (big.p1_shape-2000000000.h5): refused: needs ~"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("GiB of host memory (estimate) but only"), std::string::npos) << r.err;
  EXPECT_TRUE(exists("big.p0_shape-32.h5"));
  EXPECT_FALSE(exists("big.p1_shape-2000000000.h5"));
  EXPECT_FALSE(exists("big.p1_shape-2000000000.h5.partial"));
  EXPECT_TRUE(exists("big.p2_shape-64.h5"));
  const auto summary = csv("big.sweep.csv");
  ASSERT_EQ(summary.size(), 4u);
  EXPECT_EQ(summary[1][2], "complete");
  EXPECT_EQ(summary[2][2].rfind("refused: needs ~", 0), 0u) << summary[2][2];
  EXPECT_EQ(summary[3][2], "complete");
  // the estimate is in the row: 64 examples of 2e9 doubles alone are ~1 TB
  EXPECT_GT(std::stod(summary[2].back()), 1e12);
}

TEST_F(SweepCli, JobArrayIndexListAndCollect) {
  const std::string over = " --over 'lattice.shape=[32],[64]' --over 'dynamics.eta=1.0,0.5'";
  const test::CommandResult list = run("sweep '" + kSmooth + "' -o j.h5 --list" + over);
  ASSERT_EQ(list.status, 0) << list.err;
  EXPECT_NE(list.out.find("3\tlattice.shape=[64] dynamics.eta=0.5\tj.p3_shape-64_eta-0.5.h5\t~"), std::string::npos)
      << list.out;
  // collecting before anything ran: every point missing, exit 1, the summary still written
  test::CommandResult c = run("sweep '" + kSmooth + "' -o j.h5 --collect -q" + over);
  EXPECT_EQ(c.status, 1);
  EXPECT_NE(c.err.find("point 0 has no row file j.p0.row.csv"), std::string::npos) << c.err;
  fs::remove(dir_.path() / "j.sweep.csv");
  // the array tasks: --index, and SLURM_ARRAY_TASK_ID when --index is not given
  for (int i = 0; i < 3; ++i) ASSERT_EQ(run("sweep '" + kSmooth + "' -o j.h5 -q --index " + std::to_string(i) + over).status, 0);
  // (through tools/sweep.sbatch, as a SLURM array task runs it)
  const test::CommandResult slurm = test::run_command(
      dir_.str(), "SLURM_ARRAY_TASK_ID=3 SLURM_CPUS_PER_TASK=1 SYNFIELD='" SYNFIELD_EXE "' bash '" + kTools +
                      "/sweep.sbatch' '" + kSmooth + "' -o j.h5 -q" + over);
  ASSERT_EQ(slurm.status, 0) << slurm.err;
  EXPECT_TRUE(exists("j.p3.row.csv"));
  EXPECT_TRUE(exists("j.p3_shape-64_eta-0.5.h5"));
  EXPECT_FALSE(exists("j.sweep.csv"));  // an array task writes its row only
  c = run("sweep '" + kSmooth + "' -o j.h5 --collect" + over);
  ASSERT_EQ(c.status, 0) << c.err;
  const auto summary = csv("j.sweep.csv");
  ASSERT_EQ(summary.size(), 5u);
  for (std::size_t i = 1; i < 5; ++i) {
    EXPECT_EQ(summary[i][0], std::to_string(i - 1));
    EXPECT_EQ(summary[i][3], "complete");
  }
  EXPECT_EQ(summary[4][1], "[64]");
  EXPECT_EQ(summary[4][2], "0.5");
  // two widths per η: a continuum table with two groups (no order from two widths)
  EXPECT_NE(c.out.find("continuum limit at eta=0.5"), std::string::npos) << c.out;
  // an index outside the sweep is an error naming it
  const test::CommandResult bad = run("sweep '" + kSmooth + "' -o j.h5 --index 4" + over);
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("--index 4: the sweep has 4 points"), std::string::npos) << bad.err;
}

TEST_F(SweepCli, BadOverValueIsAConfigErrorNamingKeyAndValue) {
  test::CommandResult r = run("sweep '" + kSmooth + "' --over 'lattice.shape=[32],[64'");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--over lattice.shape=[32],[64: missing ']'"), std::string::npos) << r.err;
  // a value the config rejects: that point fails with the config's message, the sweep exits 1
  r = run("sweep '" + kSmooth + "' -o e.h5 -q --over 'dynamics.dt=-1,1e-6' --set 'lattice.shape=[32]' --over 'lattice.shape=[32]'");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("[dynamics].dt = -1: must be > 0"), std::string::npos) << r.err;
  EXPECT_TRUE(exists("e.p1_shape-32_dt-1e-6.h5"));
}

// Gradient flow + Euler is plain gradient descent: the field solver and the gd reference
// agree to rounding; the report has both times, the speed-up and both rates.
TEST_F(SweepCli, BenchAgreesWithTheGdReference) {
  const test::CommandResult r = run("bench '" + kBench +
                                    "' --set 'lattice.shape=[512]' --set data.samples=64 --set dynamics.steps=20 "
                                    "--triad-elements 1000000 --dgemm-n 256 --csv b.csv --label small");
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  for (const char* s : {"field solver (cpu)", "gd reference (cpu)", "speed-up (gd time / field time)", "of triad",
                        "of DGEMM", "STREAM triad", ": agree"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s << "\n" << r.out;
  const auto rows = csv("b.csv");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1][0], "small");
  EXPECT_EQ(rows[1][2], "factored");  // auto: 2P < N
  EXPECT_LT(std::stod(rows[1][11]), 1e-12) << "max relative loss difference";
  EXPECT_GT(std::stod(rows[1][8]), 0.0);
  // dense, damped + leapfrog (heavy ball): agrees too
  const test::CommandResult f =
      run("bench '" + kBench +
          "' --set 'lattice.shape=[1024]' --set data.samples=32 --set dynamics.steps=20 --set 'model.coupling=\"dense\"' "
          "--set dynamics.equation=damped --set dynamics.integrator=leapfrog --set dynamics.eta=1e-3 --set dynamics.dt=0.5 "
          "--triad-elements 1000000 --dgemm-n 256 --csv b.csv");
  ASSERT_EQ(f.status, 0) << f.out << f.err;
  EXPECT_LT(std::stod(csv("b.csv")[2][11]), 1e-10);
  // rk4 has no gd counterpart: the field solver alone, exit 0
  const test::CommandResult l = run("bench '" + kBench +
                                    "' --set 'lattice.shape=[256]' --set data.samples=8 --set dynamics.steps=5 "
                                    "--set dynamics.integrator=rk4 --triad-elements 100000 --dgemm-n 64");
  EXPECT_EQ(l.status, 0) << l.err;
  EXPECT_NE(l.out.find("gd reference (cpu)  not run: synfield gd has no counterpart of gradient_flow with rk4"), std::string::npos) << l.out;
}

}  // namespace
}  // namespace synfield
