// The training driver end to end on a model written by hand against the ABI: softmax regression from
// 2x2 "images" to 3 classes, trained on tiny synthetic linearly separable IDX files.
#include "runtime/checkpoint.h"
#include "runtime/driver_options.h"
#include "test_util.h"

#include <sinter/model_abi.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

using namespace sinter::test;

#include "driver_fixture.h"

TEST_CASE("driver: trains softmax regression to ~100% and checkpoints it") {
  TempDir dir("drv");
  writeDataset(dir);
  const std::string ckpt = dir.file("tiny.safetensors"), metrics = dir.file("m.jsonl");
#if defined(__x86_64__)
  const unsigned csrBefore = _mm_getcsr();
#endif
  const Result r = runDriver(dir, {"--data", dir.file(""), "--save", ckpt, "--metrics=" + metrics});
#if defined(__x86_64__)
  CHECK(_mm_getcsr() == csrBefore);  // FTZ/DAZ is undone for the host process
#endif
  INFO("stdout:\n" << r.out << "stderr:\n" << r.err);
  REQUIRE(r.rc == 0);
  CHECK(r.err.empty());  // stderr is no TTY here: no progress line

  // stdout: what trains on how many threads, one line per epoch, then where the weights went.
  std::istringstream out(r.out);
  std::string line;
  REQUIRE(std::getline(out, line));
  CHECK(line.starts_with("training tiny: 300 samples, batch 16, "));
  for (int e = 1; e <= 4; ++e) {
    REQUIRE(std::getline(out, line));
    // Read the numbers back, print them in the documented format and demand the very same line: this
    // pins the spacing, the decimals and the units.
    int epoch = 0, epochs = 0, used = 0;
    double trainLoss = 0, trainAcc = 0, testLoss = 0, acc = 0, seconds = 0, rate = 0;
    REQUIRE(std::sscanf(line.c_str(),
                        "epoch %d/%d train_loss %lf train_acc %lf%% test_loss %lf test_acc %lf%% %lfs %lf samples/s%n",
                        &epoch, &epochs, &trainLoss, &trainAcc, &testLoss, &acc, &seconds, &rate, &used) == 8);
    char expected[256];
    std::snprintf(expected, sizeof expected,
                  "epoch %d/%d  train_loss %.4f  train_acc %.2f%%  test_loss %.4f  test_acc %.2f%%  %.1fs  %.0f "
                  "samples/s",
                  e, 4, trainLoss, trainAcc, testLoss, acc, seconds, rate);
    CHECK(line == expected);
    CHECK(used == static_cast<int>(line.size()));
  }
  REQUIRE(std::getline(out, line));
  CHECK(line == "saved weights to " + ckpt);
  CHECK_FALSE(std::getline(out, line));

  const auto m = readMetrics(metrics);
  REQUIRE(m.size() == 4);
  for (size_t e = 0; e < m.size(); ++e) {
    CHECK(m[e]["epoch"] == e + 1);
    for (const char* key :
         {"step", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "lr", "seconds", "samples_per_second"})
      CHECK(m[e][key].is_number());
  }
  CHECK(m[3]["train_loss"].get<double>() < m[0]["train_loss"].get<double>());
  CHECK(m[3]["test_accuracy"].get<double>() >= 0.97);
  CHECK(m[3]["test_loss"].get<double>() < 0.3);

  // The checkpoint holds the final weights: they reproduce the reported accuracy.
  std::vector<float> w(kFeatures * kClasses), b(kClasses);
  void* ptrs[] = {w.data(), b.data()};
  const sinter_model_desc model = tinyModel();
  REQUIRE_NOTHROW(sinter::rt::loadCheckpoint(ckpt, model, ptrs));
  CHECK(accuracyWith(dir, w, b) == Approx(m[3]["test_accuracy"].get<double>()));
  CHECK_FALSE(std::filesystem::exists(ckpt + ".tmp"));
}

TEST_CASE("driver: the same seed gives the same run, another seed another run") {
  TempDir dir("drv");
  writeDataset(dir);
  auto losses = [&](const std::string& seed) {
    const Result r = runDriver(dir, {"--data", dir.file(""), "--no-save", "--epochs", "2", "--seed", seed, "--metrics",
                                     dir.file("m.jsonl"), "--quiet"});
    REQUIRE(r.rc == 0);
    std::vector<double> v;
    for (const auto& j : readMetrics(dir.file("m.jsonl"))) {
      v.push_back(j["train_loss"]);
      v.push_back(j["test_loss"]);
    }
    return v;
  };
  const auto a = losses("3"), b = losses("3"), c = losses("4");
  CHECK(a.size() == 4);
  CHECK(a == b);
  CHECK(a != c);
}

TEST_CASE("driver: --load starts from saved weights") {
  TempDir dir("drv");
  writeDataset(dir);
  const std::string ckpt = dir.file("w.safetensors");
  REQUIRE(runDriver(dir, {"--data", dir.file(""), "--save", ckpt, "--metrics", dir.file("a.jsonl")}).rc == 0);
  const double trained = readMetrics(dir.file("a.jsonl")).back()["test_accuracy"];
  // lr 0 keeps the loaded weights as they are, so the first evaluation must match the last one.
  const Result r = runDriver(dir, {"--data", dir.file(""), "--load", ckpt, "--lr", "0", "--epochs=1", "--no-save",
                                   "--metrics", dir.file("b.jsonl")});
  INFO(r.err);
  REQUIRE(r.rc == 0);
  CHECK(readMetrics(dir.file("b.jsonl")).back()["test_accuracy"].get<double>() == trained);
  CHECK(r.out.find("saved weights") == std::string::npos);

  const Result bad = runDriver(dir, {"--data", dir.file(""), "--load", dir.file("absent.safetensors")});
  CHECK(bad.rc == 1);
  CHECK_THAT(bad.err, Catch::StartsWith("error: ") && Catch::Contains("absent.safetensors"));
}

TEST_CASE("driver: batches, the final partial batch, limits and file overrides") {
  TempDir dir("drv");
  writeDataset(dir);
  const Result r = runDriver(dir, {"--train-images",
                                   dir.file("train-images-idx3-ubyte.gz"),
                                   "--train-labels",
                                   dir.file("train-labels-idx1-ubyte.gz"),
                                   "--test-images",
                                   dir.file("t10k-images-idx3-ubyte.gz"),
                                   "--test-labels",
                                   dir.file("t10k-labels-idx1-ubyte.gz"),
                                   "--data",
                                   dir.file("nowhere"),
                                   "--limit-train",
                                   "10",
                                   "--limit-test=5",
                                   "--batch",
                                   "4",
                                   "--epochs",
                                   "2",
                                   "--no-save",
                                   "--quiet",
                                   "--no-train-acc"});
  INFO(r.err);
  REQUIRE(r.rc == 0);
  CHECK(r.out.empty());  // --quiet
  CHECK(g_trainBatches == std::vector<int64_t>{4, 4, 2, 4, 4, 2});
  CHECK(g_forwardBatches == std::vector<int64_t>{4, 1, 4, 1});
}

TEST_CASE("driver: every epoch visits each sample once, in a new order") {
  TempDir dir("drv");
  writeDataset(dir);
  const Result r = runDriver(
      dir, {"--data", dir.file(""), "--limit-train", "30", "--batch", "7", "--epochs", "2", "--no-save", "--quiet"});
  REQUIRE(r.rc == 0);
  REQUIRE(g_trainPixels.size() == 60);
  std::vector<float> fileOrder;
  const Data train = synthetic(30, 1);
  for (int i = 0; i < 30; ++i) fileOrder.push_back(train.pixels[i * kFeatures] / 255.0f);
  const std::vector<float> e1(g_trainPixels.begin(), g_trainPixels.begin() + 30),
      e2(g_trainPixels.begin() + 30, g_trainPixels.end());
  CHECK(e1 != fileOrder);
  CHECK(e1 != e2);
  for (auto epoch : {e1, e2}) {
    auto sorted = fileOrder;
    std::sort(epoch.begin(), epoch.end());
    std::sort(sorted.begin(), sorted.end());
    CHECK(epoch == sorted);
  }
}

TEST_CASE("driver: the train block's metrics choose what each epoch reports, --metrics-list overrides them") {
  TempDir dir("drv");
  writeDataset(dir);
  sinter_model_desc lossOnly = tinyModel();  // `metrics [loss]`
  lossOnly.train.metrics = SINTER_METRIC_LOSS;
  auto run = [&](const sinter_model_desc& m, std::vector<std::string> extra) {
    std::vector<std::string> args = {"--data", dir.file(""), "--no-save",        "--epochs",
                                     "2",      "--metrics",  dir.file("m.jsonl")};
    args.insert(args.end(), extra.begin(), extra.end());
    const Result r = runDriver(dir, args, m);
    INFO(r.err);
    REQUIRE(r.rc == 0);
    return r;
  };
  // The keys of every metrics line that name an accuracy.
  auto accuracyKeys = [&] {
    std::set<std::string> keys;
    for (const auto& j : readMetrics(dir.file("m.jsonl")))
      for (const auto& item : j.items())
        if (item.key().find("accuracy") != std::string::npos) keys.insert(item.key());
    return keys;
  };

  SECTION("the loss alone: no accuracy columns, and no forward pass over the training batches") {
    const Result r = run(lossOnly, {});
    std::istringstream out(r.out);
    std::string line;
    REQUIRE(std::getline(out, line));  // "training tiny: ..."
    for (int e = 1; e <= 2; ++e) {
      REQUIRE(std::getline(out, line));
      int epoch = 0, epochs = 0, used = 0;
      double trainLoss = 0, testLoss = 0, seconds = 0, rate = 0;
      REQUIRE(std::sscanf(line.c_str(), "epoch %d/%d train_loss %lf test_loss %lf %lfs %lf samples/s%n", &epoch,
                          &epochs, &trainLoss, &testLoss, &seconds, &rate, &used) == 6);
      char expected[256];
      std::snprintf(expected, sizeof expected, "epoch %d/%d  train_loss %.4f  test_loss %.4f  %.1fs  %.0f samples/s", e,
                    2, trainLoss, testLoss, seconds, rate);
      CHECK(line == expected);
      CHECK(used == static_cast<int>(line.size()));
    }
    CHECK(accuracyKeys().empty());
    const auto m = readMetrics(dir.file("m.jsonl"));
    REQUIRE(m.size() == 2);
    CHECK(m[1]["train_loss"].is_number());
    CHECK(m[1]["test_loss"].is_number());
    // forward runs only to evaluate: 90 test samples in batches of 16 are 6 calls an epoch.
    CHECK(g_forwardBatches.size() == 2 * 6);
  }
  SECTION("--metrics-list brings accuracy back, or takes it away from the default") {
    run(lossOnly, {"--metrics-list", "loss,accuracy"});
    CHECK(accuracyKeys() == std::set<std::string>{"train_accuracy", "test_accuracy"});
    run(lossOnly, {"--metrics-list=accuracy"});  // the loss is always reported
    CHECK(accuracyKeys() == std::set<std::string>{"train_accuracy", "test_accuracy"});
    CHECK(readMetrics(dir.file("m.jsonl"))[0]["train_loss"].is_number());
    const Result r = run(tinyModel(), {"--metrics-list", "loss"});
    CHECK(accuracyKeys().empty());
    CHECK(r.out.find("acc") == std::string::npos);
    run(tinyModel(), {"--metrics-list="});  // an empty list: the loss alone
    CHECK(accuracyKeys().empty());
  }
  SECTION("--no-train-acc still skips the training accuracy only") {
    sinter_model_desc both = tinyModel();  // `metrics [loss, accuracy]`
    both.train.metrics = SINTER_METRIC_LOSS | SINTER_METRIC_ACCURACY;
    const Result r = run(both, {"--no-train-acc"});
    CHECK(accuracyKeys() == std::set<std::string>{"test_accuracy"});
    CHECK_THAT(r.out, Catch::Contains("test_acc") && !Catch::Contains("train_acc"));
  }
  SECTION("--help shows the model's metrics as the default") {
    const Result help = runDriver(dir, {"--help"}, lossOnly);
    CHECK(help.rc == 0);
    CHECK_THAT(help.out, Catch::Contains("--metrics-list LIST") && Catch::Contains("(default loss;"));
    CHECK_THAT(runDriver(dir, {"--help"}).out, Catch::Contains("(default loss,accuracy;"));
  }
}

TEST_CASE("driver: bad flags print one line and a hint and return 2, --help returns 0") {
  TempDir dir("drv");
  const std::vector<std::vector<std::string>> bad = {{"--bogus"},
                                                     {"--epochs", "abc"},
                                                     {"--epochs=0"},
                                                     {"--batch"},
                                                     {"--quiet=1"},
                                                     {"--lr", "-1"},
                                                     {"--lr", "nan"},
                                                     {"stray"},
                                                     {"--seed", "-3"},
                                                     {"--limit-train", "1x"},
                                                     {"--metrics-list", "acc"},
                                                     {"--metric", "loss,mse"},
                                                     {"--top-k", "0"},
                                                     {"--input", "x.npy"},
                                                     {"--input", "=x.npy"},
                                                     {"--test-input", "x="},
                                                     {"--skip-rows", "-1"},
                                                     {"--metrics-list", "loss,"},
                                                     {"--metrics-list"},
                                                     {"--no-header=1"},
                                                     {"--save"},
                                                     {"-x"},
                                                     {"--threads", "257"}};
  for (const auto& args : bad) {
    INFO(args[0]);
    const Result r = runDriver(dir, args);
    CHECK(r.rc == 2);
    CHECK_THAT(r.err, Catch::StartsWith("error: ") && Catch::EndsWith(" --help' for the flags.\n") &&
                          !Catch::Contains("usage:"));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 2);
  }
  const Result help = runDriver(dir, {"--help"});
  CHECK(help.rc == 0);
  CHECK_THAT(help.out, Catch::Contains("--epochs N") && Catch::Contains("(default 4)") &&
                           Catch::Contains("tiny.safetensors") && Catch::Contains("/usr/share/datasets/fashion-mnist"));
  CHECK(runDriver(dir, {"--epochs", "abc", "-h"}).rc == 2);  // flags are read in order: the error comes first
  CHECK(runDriver(dir, {"-h"}).out == help.out);
  const Result version = runDriver(dir, {"--version"});
  CHECK(version.rc == 0);
  CHECK_THAT(version.out, Catch::StartsWith("tiny-train (model ") && Catch::Contains("), Sinter runtime "));
  const Result messages = runDriver(dir, {"--bogus=3"});
  CHECK_THAT(messages.err, Catch::StartsWith("error: unknown flag '--bogus'\n"));
  CHECK_THAT(runDriver(dir, {"--quiet=1"}).err, Catch::StartsWith("error: flag --quiet takes no value\n"));
  CHECK_THAT(runDriver(dir, {"--batch"}).err, Catch::StartsWith("error: flag --batch needs a value\n"));
  CHECK_THAT(runDriver(dir, {"stray"}).err, Catch::StartsWith("error: unexpected argument 'stray'\n"));
  CHECK_THAT(runDriver(dir, {"--epochs=0"}).err,
             Catch::StartsWith("error: invalid value '0' for --epochs: expected an integer >= 1\n"));
}

TEST_CASE("driver: flags apply in command-line order, the last of --save and --no-save winning") {
  TempDir dir("drv");
  writeDataset(dir);
  const std::string saved = dir.file("w.safetensors"), skipped = dir.file("skipped.safetensors");
  CHECK(runDriver(dir, {"--data", dir.file(""), "--no-save", "--save", saved}).rc == 0);
  CHECK(std::filesystem::exists(saved));
  CHECK(runDriver(dir, {"--data", dir.file(""), "--save", skipped, "--no-save"}).rc == 0);
  CHECK_FALSE(std::filesystem::exists(skipped));
}

TEST_CASE("driver: bad data is reported and returns 1") {
  TempDir dir("drv");
  writeDataset(dir);
  const std::string d = dir.file("");
  auto check = [&](std::vector<std::string> args, const std::string& needle) {
    args.insert(args.begin(), "--no-save");  // first, so that a --save of the case wins
    const Result r = runDriver(dir, args);
    INFO(needle);
    CHECK(r.rc == 1);
    CHECK_THAT(r.err, Catch::StartsWith("error: ") && Catch::Contains(needle));
  };
  check({"--data", dir.file("missing")}, "not found");
  check({"--data", d, "--train-labels", dir.file("nope.gz")}, "nope.gz");

  writeGz(dir.file("nine.gz"), idxBytes(0x08, {2, 3, 3}, std::vector<uint8_t>(18, 1)));
  check({"--data", d, "--test-images", dir.file("nine.gz")}, "takes 4 features per sample");
  check({"--data", d, "--test-images", dir.file("nine.gz")}, "3x3=9");

  writeGz(dir.file("labels3.gz"), idxBytes(0x08, {2}, {0, 3}));
  writeGz(dir.file("images2.gz"), idxBytes(0x08, {2, 2, 2}, std::vector<uint8_t>(8, 1)));
  check({"--data", d, "--test-images", dir.file("images2.gz"), "--test-labels", dir.file("labels3.gz")},
        "out of range");

  writeGz(dir.file("labels5.gz"), idxBytes(0x08, {5}, {0, 1, 2, 0, 1}));
  check({"--data", d, "--test-labels", dir.file("labels5.gz")}, "5 labels");

  check({"--data", d, "--save", dir.file("no/dir/x.safetensors")}, "does not exist");
  check({"--data", d, "--metrics", dir.file("no/dir/m.jsonl")}, "m.jsonl");
}

TEST_CASE("driver: a non-finite loss stops training with an error") {
  TempDir dir("drv");
  writeDataset(dir);
  g_poisonLoss = true;
  const Result r = runDriver(dir, {"--data", dir.file(""), "--save", dir.file("x.safetensors")});
  g_poisonLoss = false;
  CHECK(r.rc == 1);
  CHECK_THAT(r.err, Catch::Contains("error: training diverged at epoch 1 step 1 (optimizer step 1): the loss is NaN"));
  CHECK_FALSE(std::filesystem::exists(dir.file("x.safetensors")));
}

TEST_CASE("driver: models it cannot train are rejected") {
  TempDir dir("drv");
  writeDataset(dir);
  const std::vector<std::string> args = {"--data", dir.file(""), "--no-save"};

  sinter_model_desc twoSyms = tinyModel();
  twoSyms.num_syms = 2;
  Result r = runDriver(dir, args, twoSyms);
  CHECK(r.rc == 1);
  CHECK_THAT(r.err, Catch::Contains("symbolic"));

  sinter_model_desc noTrain = tinyModel();
  noTrain.has_train = 0;
  noTrain.train_step = nullptr;
  noTrain.loss_output = -1;
  r = runDriver(dir, args, noTrain);
  CHECK(r.rc == 1);
  CHECK_THAT(r.err, Catch::Contains("no train"));

  // An f64 param in an f32 model: the optimizer updates all params in one dtype, so the driver refuses
  // the mixture with a reason (an all-f64 model trains; see tests/parity/f64_parity.py).
  const sinter_tensor_desc f64Params[] = {{"W", SINTER_F64, 2, kWDims, SINTER_INIT_GLOROT_UNIFORM, 0, 0},
                                          {"b", SINTER_F32, 1, kBDims, SINTER_INIT_ZEROS, 0, 0}};
  sinter_model_desc f64 = tinyModel();
  f64.params = f64Params;
  r = runDriver(dir, args, f64);
  CHECK(r.rc == 1);
  CHECK_THAT(r.err, Catch::Contains("param 'W' is f64 but the samples input") &&
                        Catch::Contains("the training driver trains models of one floating dtype"));

  sinter_model_desc oldAbi = tinyModel();
  oldAbi.abi_version = 0;
  r = runDriver(dir, args, oldAbi);
  CHECK(r.rc == 1);
  CHECK_THAT(r.err, Catch::Contains("ABI"));

  Capture cap(dir.file(""));
  const int rc = sinter_train_main(nullptr, 0, nullptr);
  cap.stop();
  CHECK(rc == 1);
  CHECK_THAT(cap.err(), Catch::StartsWith("error: "));
}

namespace {

std::vector<uint8_t> fileBytes(const std::string& path) { return readBytes(path); }

}  // namespace

TEST_CASE("driver: SIGTERM writes a checkpoint, --resume then ends with the uninterrupted run's weights") {
  TempDir dir("drv");
  writeDataset(dir);
  const std::vector<std::string> common = {"--data", dir.file(""), "--epochs", "3", "--batch", "32", "--quiet"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> a = common;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  // Adam with a schedule and clipping: every piece of state (moments, step count, the position in the
  // epoch, the schedule) must come back for the weights to match bit for bit.
  sinter_model_desc m = tinyModel();
  m.train.optimizer = SINTER_OPT_ADAM;
  m.train.lr = 0.05f, m.train.beta1 = 0.9f, m.train.beta2 = 0.999f, m.train.eps = 1e-8f;
  m.train.schedule = SINTER_SCHED_COSINE;
  m.train.warmup_steps = 5;
  m.train.clip_norm = 0.5f;
  Result full = runDriver(dir, with({"--save", dir.file("full.safetensors"), "--metrics", dir.file("full.jsonl")}), m);
  REQUIRE(full.rc == 0);

  g_raiseAt = 13;  // epoch 2 (10 steps per epoch), step 4
  Result cut = runDriver(dir,
                         with({"--save", dir.file("cut.safetensors"), "--checkpoint-dir", dir.file("ck"), "--metrics",
                               dir.file("cut.jsonl")}),
                         m);
  g_raiseAt = -1;
  INFO(cut.err);
  CHECK(cut.rc == 128 + SIGTERM);
  CHECK_THAT(cut.err, Catch::Contains("interrupted by SIGTERM at epoch 2 step 4") && Catch::Contains("--resume"));
  CHECK(g_trainBatches.size() == 14);
  REQUIRE(std::filesystem::exists(dir.file("ck/checkpoint.safetensors")));

  Result resumed = runDriver(dir,
                             with({"--save", dir.file("cut.safetensors"), "--checkpoint-dir", dir.file("ck"),
                                   "--metrics", dir.file("cut.jsonl"), "--resume"}),
                             m);
  INFO(resumed.err);
  REQUIRE(resumed.rc == 0);
  CHECK(g_trainBatches.size() == 16);  // the rest of epoch 2 and all of epoch 3
  CHECK(fileBytes(dir.file("cut.safetensors")) == fileBytes(dir.file("full.safetensors")));
  // The metrics agree too (but for the times): one line per epoch, the same losses.
  const auto a = readMetrics(dir.file("full.jsonl")), b = readMetrics(dir.file("cut.jsonl"));
  REQUIRE(b.size() == 3);
  for (size_t e = 0; e < 3; ++e) {
    CHECK(a[e]["train_loss"] == b[e]["train_loss"]);
    CHECK(a[e]["test_loss"] == b[e]["test_loss"]);
    CHECK(a[e]["train_accuracy"] == b[e]["train_accuracy"]);
  }

  // Resuming a finished run trains nothing.
  Result again = runDriver(dir, with({"--no-save", "--checkpoint-dir", dir.file("ck"), "--resume"}), m);
  CHECK(again.rc == 0);
  CHECK(g_trainBatches.empty());

  // Resuming with another batch size or seed is refused, naming the flag.
  Result other = runDriver(dir,
                           {"--data", dir.file(""), "--epochs", "3", "--batch", "16", "--quiet", "--no-save",
                            "--checkpoint-dir", dir.file("ck"), "--resume"},
                           m);
  CHECK(other.rc == 1);
  CHECK_THAT(other.err, Catch::Contains("--batch 32, this run has 16"));
  Result none = runDriver(dir, {"--data", dir.file(""), "--checkpoint-dir", dir.file("empty"), "--resume"}, m);
  CHECK(none.rc == 1);
  CHECK_THAT(none.err, Catch::Contains("no checkpoint"));
  Result flags = runDriver(dir, {"--resume"}, m);
  CHECK(flags.rc == 2);
  CHECK_THAT(flags.err, Catch::Contains("--resume needs --checkpoint-dir"));
}

TEST_CASE("driver: a non-finite gradient names the param and step, and the last good checkpoint stays") {
  TempDir dir("drv");
  writeDataset(dir);
  sinter_model_desc m = tinyModel();
  m.train.clip_norm = 100.0f;  // clipping computes the global norm: a NaN gradient shows there first
  g_poisonGradAt = 12;         // epoch 2, step 3 (10 steps per epoch with batch 32)
  const Result r = runDriver(
      dir, {"--data", dir.file(""), "--batch", "32", "--checkpoint-dir", dir.file("ck"), "--no-save", "--quiet"}, m);
  g_poisonGradAt = -1;
  CHECK(r.rc == 1);
  CHECK_THAT(r.err, Catch::Contains("training diverged at epoch 2 step 3 (optimizer step 13)") &&
                        Catch::Contains("the gradient of param 'b' holds NaN (element 1)") &&
                        Catch::Contains("last good checkpoint"));
  std::vector<float> w(kFeatures * kClasses), b(kClasses);
  void* ptrs[] = {w.data(), b.data()};
  const auto meta = sinter::rt::loadCheckpoint(dir.file("ck/checkpoint.safetensors"), m, ptrs);
  CHECK(meta.at("sinter_epoch") == "1");  // the end of epoch 1
  for (float v : b) CHECK(std::isfinite(v));

  // Without clipping the NaN reaches the params, and a checkpoint is refused rather than overwritten.
  g_poisonGradAt = 3;
  const Result r2 = runDriver(dir, {"--data", dir.file(""), "--batch", "32", "--checkpoint-dir", dir.file("ck2"),
                                    "--checkpoint-every", "2", "--no-save", "--quiet"});
  g_poisonGradAt = -1;
  CHECK(r2.rc == 1);
  CHECK_THAT(r2.err, Catch::Contains("param 'b' became NaN (element 1) in the optimizer's update"));
  CHECK(sinter::rt::loadCheckpoint(dir.file("ck2/checkpoint.safetensors"), m, ptrs).at("sinter_step") == "2");
}

TEST_CASE("driver: CSV data with standardization, a validation split and --eval-every") {
  TempDir dir("drv");
  // The synthetic data as CSV, pixel values unscaled (0..255): standardization makes them trainable.
  const Data train = synthetic(300, 1), test = synthetic(90, 2);
  auto csv = [&](const Data& d, const std::string& name) {
    std::ofstream f(dir.file(name));
    f << "p0,p1,p2,p3,class\n";
    for (size_t i = 0; i < d.labels.size(); ++i) {
      for (int p = 0; p < kFeatures; ++p) f << int(d.pixels[i * kFeatures + p]) << ",";
      f << int(d.labels[i]) << "\n";
    }
  };
  csv(train, "train.csv");
  csv(test, "test.csv");
  const Result r =
      runDriver(dir, {"--train-csv", dir.file("train.csv"), "--test-csv", dir.file("test.csv"), "--label-column",
                      "class", "--normalize", "standard", "--val-split", "0.2", "--eval-every", "2", "--epochs", "3",
                      "--no-save", "--metrics", dir.file("m.jsonl")});
  INFO(r.out << r.err);
  REQUIRE(r.rc == 0);
  const auto m = readMetrics(dir.file("m.jsonl"));
  REQUIRE(m.size() == 3);
  CHECK_FALSE(m[0].contains("test_loss"));  // epoch 1: no evaluation
  CHECK(m[1].contains("val_accuracy"));
  CHECK(m[2]["test_accuracy"].get<double>() >= 0.95);  // the last epoch always evaluates
  CHECK(m[2]["val_accuracy"].get<double>() >= 0.95);
  CHECK_THAT(r.out, Catch::Contains("val_acc") && Catch::Contains("train_acc"));
  CHECK(g_trainBatches.size() == 3 * 15);  // 240 training samples after the split, batch 16

  const Result bad = runDriver(dir, {"--train-csv", dir.file("train.csv"), "--label-column", "klass", "--no-save"});
  CHECK(bad.rc == 1);
  CHECK_THAT(bad.err, Catch::Contains("no column named 'klass'"));
}

TEST_CASE("driver: the train block's data settings are defaults that any data flag replaces") {
  using sinter::rt::DriverOptions;
  using sinter::rt::ParseResult;
  sinter_model_desc m = tinyModel();
  const char* block[] = {"--data=/block/dir", "--val-split=0.25", nullptr};
  m.data_flags = block;
  auto parse = [&m](std::vector<const char*> args, DriverOptions& o, std::string* err = nullptr) {
    args.insert(args.begin(), "prog");
    std::ostringstream out, errs;
    o = sinter::rt::defaultOptions(m);
    const ParseResult r =
        sinter::rt::parseOptions(m, static_cast<int>(args.size()), const_cast<char**>(args.data()), o, out, errs);
    if (err) *err = errs.str();
    return r;
  };
  DriverOptions o;
  REQUIRE(parse({}, o) == ParseResult::Run);
  CHECK(o.dataDir == "/block/dir");
  CHECK(o.valSplit == 0.25);
  // --limit-* and --top-k only cut or measure the data: the block's settings stay.
  REQUIRE(parse({"--limit-train", "5", "--top-k=2"}, o) == ParseResult::Run);
  CHECK(o.dataDir == "/block/dir");
  CHECK(o.limitTrain == 5);
  // A flag that names the data replaces them all: no validation split from the block either.
  REQUIRE(parse({"--train-images=x.gz"}, o) == ParseResult::Run);
  CHECK(o.dataDir == sinter::rt::kDefaultDataDir);
  CHECK(o.valSplit == 0);
  CHECK(o.trainImages == "x.gz");
  // A descriptor whose block the runtime refuses (the compiler checks first) is an error, not ignored.
  const char* bad[] = {"--val-split=2", nullptr};
  m.data_flags = bad;
  std::string err;
  CHECK(parse({}, o, &err) == ParseResult::Error);
  CHECK_THAT(err, Catch::Contains("model 'tiny': its train block's data setting '--val-split=2' is not valid "
                                  "(expected a fraction in (0, 1))"));
}
