// Truth: the promised error messages, hand-computed sources, and a worked example.
//   * bad data and inconsistent [model] configs are rejected by parse_config with a
//     ConfigError that names the key ([model].data, [lattice].shape, …), the file and the
//     place (line/column, dataset, sample);
//   * `synfield sources` (write_sources): J₀, J₁, J₂ / J₂'s factor of a 3-example data set
//     worked out by hand, and C(w) = Σ_o J₀ + J₁·w + w J₂ w against the solver's potential;
//   * data/examples/addition.toml learns addition: the held-out 5 + 4 is predicted as 9.
#include <gtest/gtest.h>

#include <synfield/config.h>
#include <synfield/solver.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "host/io/h5.h"
#include "host/model/sources.h"
#include "model_test_util.h"

namespace synfield::test {
namespace {

// parse_config(text) throws a ConfigError whose message holds every piece.
::testing::AssertionResult rejected_with(const std::string& text, std::initializer_list<std::string> pieces,
                                         const std::string& base_dir = ".") {
  try {
    parse_config(text, {}, base_dir);
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    for (const auto& p : pieces)
      if (msg.find(p) == std::string::npos)
        return ::testing::AssertionFailure() << "the message lacks \"" << p << "\": " << msg;
    return ::testing::AssertionSuccess() << msg;
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "not a ConfigError: " << e.what();
  }
  return ::testing::AssertionFailure() << "accepted:\n" << text;
}

const std::string kFlow = "[dynamics]\nequation = \"gradient_flow\"\ndt = 1.0\nsteps = 1\n";

std::string model_toml(const std::string& data, const std::string& model_extra = "",
                       const std::string& lattice_extra = "") {
  return "[lattice]\n" + lattice_extra + "[model]\ndata = \"" + data + "\"\n" + model_extra + kFlow;
}

class ModelBadInputs : public ::testing::Test {
 protected:
  TempDir dir;
  // A good 1-D HDF5 data set: P = 6 examples of 4 sites, 2 outputs.
  std::string good_h5() {
    const std::string path = dir / "good.h5";
    write_data(path, random_data({4}, 2, 6, 0, 1));
    return path;
  }
};

TEST_F(ModelBadInputs, NanInCsvNamesTheKeyFileLineAndColumn) {
  const std::string csv = dir / "nan.csv";
  write_text(csv, "a,b,y\n1,2,3\n4,nan,6\n");
  EXPECT_TRUE(rejected_with(model_toml(csv), {"[model].data", "nan.csv", "line 3", "column 'b'", "non-finite"}));
}

TEST_F(ModelBadInputs, RaggedCsvRowNamesTheLine) {
  const std::string csv = dir / "ragged.csv";
  write_text(csv, "a,b,y\n1,2,3\n4,5,6\n7,8\n");
  EXPECT_TRUE(rejected_with(model_toml(csv), {"[model].data", "ragged.csv", "line 4", "2 cells, expected 3"}));
}

TEST_F(ModelBadInputs, NanInHdf5NamesTheDatasetAndSample) {
  Dataset d = random_data({4}, 1, 5, 0, 2);
  d.X[2 * 4 + 1] = std::nan("");
  const std::string path = dir / "nan.h5";
  write_data(path, d);
  EXPECT_TRUE(rejected_with(model_toml(path), {"[model].data", "nan.h5:/X", "non-finite", "sample 2", "element 1"}));
}

TEST_F(ModelBadInputs, Hdf5SampleCountsOfXAndYDiffer) {
  const std::string path = dir / "mismatch.h5";
  h5::File f = h5::File::create(path);
  f.write("/X", randn(5 * 4, 3), {5, 4});
  f.write("/Y", randn(6, 4), {6});
  f.close();
  EXPECT_TRUE(rejected_with(model_toml(path), {"[model].data", "mismatch.h5:/Y", "6 samples", "/X has 5"}));
}

TEST_F(ModelBadInputs, Hdf5TestSetShapeDiffers) {
  const std::string path = dir / "test_shape.h5";
  h5::File f = h5::File::create(path);
  f.write("/X", randn(5 * 4, 3), {5, 4});
  f.write("/Y", randn(5, 4), {5});
  f.write("/X_test", randn(2 * 3, 5), {2, 3});
  f.write("/Y_test", randn(2, 6), {2});
  f.close();
  EXPECT_TRUE(rejected_with(model_toml(path), {"[model].data", "test_shape.h5:/X_test", "does not match /X"}));
}

TEST_F(ModelBadInputs, MissingFile) {
  EXPECT_TRUE(rejected_with(model_toml(dir / "absent.h5"), {"[model].data", "absent.h5", "no such file"}));
}

TEST_F(ModelBadInputs, LatticeShapeDiffersFromTheData) {
  const std::string path = good_h5();
  EXPECT_TRUE(rejected_with(model_toml(path, "", "shape = [5]\n"), {"[lattice].shape", "[5]", "[4]", "good.h5"}));
  EXPECT_TRUE(rejected_with(model_toml(path, "", "shape = [2, 2]\n"), {"[lattice].shape", "[2, 2]", "[4]"}));
  // the matching shape is accepted
  EXPECT_NO_THROW(parse_config(model_toml(path, "", "shape = [4]\n")));
}

TEST_F(ModelBadInputs, WrongNumberOfFields) {
  const std::string path = good_h5();
  EXPECT_TRUE(rejected_with(model_toml(path, "", "fields = [\"a\"]\n"), {"[lattice].fields", "2 output", "got 1"}));
  EXPECT_TRUE(rejected_with(model_toml(path, "", "fields = [\"a\", \"b\", \"c\"]\n"), {"[lattice].fields", "got 3"}));
  const Problem p = parse_config(model_toml(path, "", "fields = [\"a\", \"b\"]\n"));
  EXPECT_EQ(p.lattice.fields, (std::vector<std::string>{"a", "b"}));
}

TEST_F(ModelBadInputs, DenseCouplingWithMinibatchesOrReplicaData) {
  const std::string path = good_h5();
  EXPECT_TRUE(rejected_with(model_toml(path, "coupling = \"dense\"\nminibatch = 2\n"),
                            {"[model].coupling", "dense", "minibatch", "factored"}));
  EXPECT_TRUE(rejected_with(model_toml(path, "coupling = \"dense\"\nreplica_data = \"bootstrap\"\n"),
                            {"[model].coupling", "dense", "factored"}));
  // auto picks factored there
  const Problem p = parse_config(model_toml(path, "minibatch = 2\n"));
  EXPECT_EQ(p.model.coupling, Model::Coupling::factored);
}

TEST_F(ModelBadInputs, StreamsNeedAMinibatch) {
  const std::string path = good_h5();
  EXPECT_TRUE(rejected_with(model_toml(path, "replica_data = \"streams\"\n"),
                            {"[model].replica_data", "streams", "[model].minibatch"}));
  EXPECT_NO_THROW(parse_config(model_toml(path, "replica_data = \"streams\"\nminibatch = 3\n")));
}

TEST_F(ModelBadInputs, BothOrNeitherDataSource) {
  const std::string path = good_h5();
  EXPECT_TRUE(rejected_with(model_toml(path) + "[data]\ngenerator = \"smooth\"\nsamples = 4\n",
                            {"[model].data", "either", "[data]"}));
  EXPECT_TRUE(rejected_with("[lattice]\nshape = [4]\n[model]\nbias = true\n" + kFlow, {"[model].data", "required"}));
}

// ---- sources ---------------------------------------------------------------------------------

// X = [[1, 2], [3, −1], [0, 2]], Y = [[1, 0], [2, 1], [−1, 3]], continuum units with a = 0.5
// in one dimension: s = μ = 0.5.
//   J₀ = Σ_l Y_o²            = [6, 10]
//   J₁ = −2s Σ_l Y_o X       = −[[7, −2], [3, 5]] = [[−7, 2], [−3, −5]]
//   J₂ = s² Σ_l X(x) X(y)    = ¼ [[10, −1], [−1, 9]]
//   factor = s X             = [[0.5, 1], [1.5, −0.5], [0, 1]]
class ModelSources : public ::testing::Test {
 protected:
  TempDir dir;
  std::string config(const std::string& coupling) {
    Dataset d;
    d.shape = {2};
    d.outputs = 2;
    d.X = {1, 2, 3, -1, 0, 2};
    d.Y = {1, 0, 2, 1, -1, 3};
    write_data(dir / "tiny.h5", d);
    return "[lattice]\nunits = \"continuum\"\nspacing = 0.5\n[model]\ndata = \"" + (dir / "tiny.h5") +
           "\"\nbias = false\ncoupling = \"" + coupling + "\"\n" + kFlow;
  }
};

TEST_F(ModelSources, DenseMatchesHandComputedValues) {
  const Problem p = parse_config(config("dense"));
  write_sources(p, dir / "src.h5");
  const h5::File f = h5::File::open_read(dir / "src.h5");
  EXPECT_EQ(f.attr_string("format"), "synfield-sources-1");
  EXPECT_EQ(f.attr_string("coupling"), "dense");
  std::vector<hsize_t> dims;
  EXPECT_TRUE(close_rel(f.read("/J0", &dims), {6, 10}, 1e-15, "J0"));
  EXPECT_EQ(dims, (std::vector<hsize_t>{2}));
  EXPECT_TRUE(close_rel(f.read("/J1", &dims), {-7, 2, -3, -5}, 1e-15, "J1"));
  EXPECT_EQ(dims, (std::vector<hsize_t>{2, 2}));
  EXPECT_TRUE(close_rel(f.read("/J2", &dims), {2.5, -0.25, -0.25, 2.25}, 1e-15, "J2"));
  EXPECT_EQ(dims, (std::vector<hsize_t>{2, 2}));
  EXPECT_FALSE(f.exists("/J2_factor"));
}

TEST_F(ModelSources, FactoredMatchesHandComputedValues) {
  const Problem p = parse_config(config("factored"));
  write_sources(p, dir / "src.h5");
  const h5::File f = h5::File::open_read(dir / "src.h5");
  EXPECT_EQ(f.attr_string("coupling"), "factored");
  std::vector<hsize_t> dims;
  EXPECT_TRUE(close_rel(f.read("/J0"), {6, 10}, 1e-15, "J0"));
  EXPECT_TRUE(close_rel(f.read("/J1"), {-7, 2, -3, -5}, 1e-15, "J1"));
  EXPECT_TRUE(close_rel(f.read("/J2_factor", &dims), {0.5, 1, 1.5, -0.5, 0, 1}, 1e-15, "J2_factor"));
  EXPECT_EQ(dims, (std::vector<hsize_t>{3, 2}));
  EXPECT_FALSE(f.exists("/J2"));
}

// The sources assemble the cost: C(w) = Σ_o [J₀_o + Σ_x J₁_o(x) w_o(x) + Σ_xy w_o(x) J₂(x,y) w_o(y)].
TEST_F(ModelSources, AssembleTheSolversPotential) {
  const Problem p = parse_config(config("dense"));
  write_sources(p, dir / "src.h5");
  const h5::File f = h5::File::open_read(dir / "src.h5");
  const std::vector<double> J0 = f.read("/J0"), J1 = f.read("/J1"), J2 = f.read("/J2");
  const std::vector<double> w{0.3, -1.1, 0.7, 0.2};  // [output][site]
  double C = 0.0;
  for (int o = 0; o < 2; ++o) {
    C += J0[o];
    for (int x = 0; x < 2; ++x) {
      C += J1[o * 2 + x] * w[o * 2 + x];
      for (int y = 0; y < 2; ++y) C += w[o * 2 + x] * J2[x * 2 + y] * w[o * 2 + y];
    }
  }
  auto solver = make_solver(p, Backend::cpu);
  solver->set_state(w, std::vector<double>(4, 0.0));
  EXPECT_TRUE(close_rel(solver->potential(), C, 1e-14, "potential"));
}

// ---- the addition example ---------------------------------------------------------------------

class AdditionExample : public BackendTest {};

TEST_P(AdditionExample, PredictsNineForFivePlusFour) {
  const Problem p = load_config(std::string(SYNFIELD_SOURCE_DIR) + "/data/examples/addition.toml");
  ASSERT_EQ(p.model.data.test_samples(), 1);
  ASSERT_EQ(p.model.data.X_test, (std::vector<double>{5, 4}));
  auto solver = make_solver(p, backend());
  const Observables before = solver->observe();
  ASSERT_EQ(before.test_predictions.size(), 1u);
  EXPECT_GT(std::fabs(before.test_predictions[0] - 9.0), 1.0);  // untrained
  solver->advance(p.dynamics.steps);
  const Observables o = solver->observe();
  ASSERT_EQ(o.test_predictions.size(), 1u);
  EXPECT_NEAR(o.test_predictions[0], 9.0, 1e-6);
  EXPECT_LT(o.loss, 1e-10);
  // it learned addition itself: w = (1, 1), b = 0 fits all four examples exactly
  const State st = state_of(*solver);
  EXPECT_NEAR(st.w[0], 1.0, 1e-6);
  EXPECT_NEAR(st.w[1], 1.0, 1e-6);
  ASSERT_EQ(st.b.size(), 1u);
  EXPECT_NEAR(st.b[0], 0.0, 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Model, AdditionExample, kBackends, BackendName());

}  // namespace
}  // namespace synfield::test
