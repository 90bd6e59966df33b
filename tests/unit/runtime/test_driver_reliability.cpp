// The training driver never destroys what it should not write, never trains on garbage without saying
// so, and checks its output paths before it starts: the cases of issue 18, one test each.
#include "driver_fixture.h"

#include "runtime/checkpoint.h"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace {

std::string text(const std::string& path) {
  const std::vector<uint8_t> b = readBytes(path);
  return std::string(b.begin(), b.end());
}

size_t lineCount(const std::string& path) {
  const std::string t = text(path);
  return static_cast<size_t>(std::count(t.begin(), t.end(), '\n'));
}

}  // namespace

TEST_CASE("driver reliability: --save onto a device node is refused before training, the node kept") {
  TempDir dir("rel");
  writeDataset(dir);
  const std::string node = dir.file("mynull");
  if (::mknod(node.c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0) {
    WARN("mknod failed (not root?): skipping");
    return;
  }
  const Result r = runDriver(dir, {"--data", dir.file(""), "--epochs", "1", "--save", node});
  CHECK(r.rc == 1);
  CHECK_THAT(r.err, Catch::StartsWith("error: --save " + node) && Catch::Contains("is a character device"));
  CHECK(g_trainBatches.empty());  // refused before the first step
  struct stat st {};
  REQUIRE(::lstat(node.c_str(), &st) == 0);
  CHECK(S_ISCHR(st.st_mode));
  CHECK(major(st.st_rdev) == 1);

  // A symlink to a regular file is written through: the link stays a link.
  writeBytes(dir.file("target.safetensors"), {});
  std::filesystem::create_symlink("target.safetensors", dir.file("link.safetensors"));
  const Result ok = runDriver(dir, {"--data", dir.file(""), "--epochs", "1", "--save", dir.file("link.safetensors")});
  CHECK(ok.rc == 0);
  CHECK(std::filesystem::is_symlink(dir.file("link.safetensors")));
  CHECK(std::filesystem::file_size(dir.file("target.safetensors")) > 0);
}

TEST_CASE("driver reliability: output paths that cannot be written fail before training, naming the flag") {
  TempDir dir("rel");
  writeDataset(dir);
  // A directory that refuses new files: /proc for root (permission bits do not stop root), else our own
  // read-only directory.
  std::string readOnly = "/proc";
  if (::geteuid() != 0) {
    std::filesystem::create_directories(dir.file("ro"));
    ::chmod(dir.file("ro").c_str(), 0555);
    readOnly = dir.file("ro");
  }
  auto fails = [&](std::vector<std::string> args, const std::string& flag, const std::string& needle) {
    args.insert(args.begin(), {"--data", dir.file(""), "--epochs", "1", "--no-save"});
    const Result r = runDriver(dir, args);
    INFO(r.err);
    CHECK(r.rc == 1);
    CHECK_THAT(r.err, Catch::StartsWith("error: " + flag) && Catch::Contains(needle));
    CHECK(g_trainBatches.empty());
  };
  fails({"--save", readOnly + "/w.safetensors"}, "--save", "cannot create files in directory " + readOnly);
  fails({"--save", dir.file("missing/w.safetensors")}, "--save", "does not exist");
  fails({"--checkpoint-dir", readOnly}, "--checkpoint-dir", "cannot create files");
  fails({"--metrics", readOnly + "/m.jsonl"}, "--metrics", "cannot create files");
  fails({"--metrics", dir.file("")}, "--metrics", "is a directory");
  if (::geteuid() != 0) ::chmod(dir.file("ro").c_str(), 0755);
}

TEST_CASE("driver reliability: after --resume the metrics file keeps its lines on the disk and appends") {
  TempDir dir("rel");
  writeDataset(dir);
  const std::string metrics = dir.file("m.jsonl");
  const std::vector<std::string> args = {"--data",    dir.file(""), "--epochs",         "3",
                                         "--batch",   "32",         "--no-save",        "--quiet",
                                         "--metrics", metrics,      "--checkpoint-dir", dir.file("ck")};
  g_raiseAt = 13;  // epoch 2 step 4 (10 steps an epoch): the file holds epoch 1
  REQUIRE(runDriver(dir, args).rc == 128 + SIGTERM);
  g_raiseAt = -1;
  REQUIRE(lineCount(metrics) == 1);
  // What a run killed after its epoch-2 line but before its checkpoint leaves: a line the checkpoint
  // does not cover, then half a line.
  {
    std::ofstream f(metrics, std::ios::app);
    f << "{\"epoch\":2,\"step\":20,\"train_loss\":9.9}\n{\"epoch\":3,\"st";
  }
  // While the resumed run trains its first step, the kept line must be on the disk already: a SIGKILL
  // then must not leave an empty file.
  size_t linesDuringFirstStep = 0;
  g_onTrainStep = [&](int call) {
    if (call == 0) linesDuringFirstStep = lineCount(metrics);
  };
  std::vector<std::string> resume = args;
  resume.push_back("--resume");
  const Result r = runDriver(dir, resume);
  g_onTrainStep = nullptr;
  INFO(r.err);
  REQUIRE(r.rc == 0);
  CHECK(linesDuringFirstStep == 1);
  const auto lines = readMetrics(metrics);
  REQUIRE(lines.size() == 3);
  for (size_t e = 0; e < 3; ++e) CHECK(lines[e]["epoch"] == e + 1);
  CHECK(lines[1]["train_loss"] != 9.9);
}

TEST_CASE("driver reliability: an update that makes a param non-finite stops the run, naming it") {
  TempDir dir("rel");
  writeDataset(dir);
  g_poisonGradAt = 18;  // the last of the 19 steps of the only epoch: no later loss would show it
  const Result r = runDriver(dir, {"--data", dir.file(""), "--epochs", "1", "--save", dir.file("w.safetensors")});
  g_poisonGradAt = -1;
  CHECK(r.rc == 1);
  CHECK_THAT(r.err, Catch::Contains("training diverged at epoch 1 step 19 (optimizer step 19): param 'b' became "
                                    "NaN (element 1) in the optimizer's update; nothing was saved"));
  CHECK_FALSE(std::filesystem::exists(dir.file("w.safetensors")));
}

TEST_CASE("driver reliability: --load of non-finite weights is refused by name before training") {
  TempDir dir("rel");
  writeDataset(dir);
  std::vector<float> w(kFeatures * kClasses, 0.1f), b = {0.0f, NAN, 0.0f};
  void* ptrs[] = {w.data(), b.data()};
  const sinter_model_desc m = tinyModel();
  sinter::rt::saveCheckpoint(dir.file("nan.safetensors"), m, ptrs);
  const Result r = runDriver(dir, {"--data", dir.file(""), "--no-save", "--load", dir.file("nan.safetensors")});
  CHECK(r.rc == 1);
  CHECK_THAT(r.err, Catch::Contains("nan.safetensors: tensor 'b' holds NaN (element 1)"));
  CHECK(g_trainBatches.empty());
}

TEST_CASE("driver reliability: a loss growing a thousandfold is a warning naming the step") {
  TempDir dir("rel");
  writeDataset(dir);
  g_lossHook = [](int call, float loss) { return call >= 7 ? 2e22f : loss; };  // Adam at lr 1e6 ends near there
  const Result r = runDriver(dir, {"--data", dir.file(""), "--epochs", "1", "--no-save", "--quiet"});
  g_lossHook = nullptr;
  INFO(r.err);
  CHECK(r.rc == 0);  // finite: training goes on
  CHECK_THAT(r.err, Catch::StartsWith("warning: at epoch 1 step 8 (optimizer step 8) the loss 2e+22 is more than "
                                      "1000 times the first step's"));
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);  // once
  const Result calm = runDriver(dir, {"--data", dir.file(""), "--epochs", "1", "--no-save", "--quiet"});
  CHECK(calm.err.empty());
}

TEST_CASE("driver reliability: a divergence before any checkpoint does not claim one is kept") {
  TempDir dir("rel");
  writeDataset(dir);
  g_poisonLoss = true;
  const Result r = runDriver(dir, {"--data", dir.file(""), "--no-save", "--checkpoint-dir", dir.file("ck")});
  g_poisonLoss = false;
  CHECK(r.rc == 1);
  CHECK_THAT(r.err, Catch::Contains("no checkpoint was written by this run") && !Catch::Contains("last good"));
  CHECK_FALSE(std::filesystem::exists(dir.file("ck/checkpoint.safetensors")));
}

TEST_CASE("driver reliability: --resume checks every field of the checkpoint's position") {
  TempDir dir("rel");
  writeDataset(dir);
  const std::vector<std::string> args = {"--data",  dir.file(""), "--epochs",         "3",           "--batch", "32",
                                         "--quiet", "--no-save",  "--checkpoint-dir", dir.file("ck")};
  g_raiseAt = 13;  // a checkpoint at epoch 2 step 4: sinter_epoch 1, sinter_epoch_step 4, sinter_step 14
  REQUIRE(runDriver(dir, args).rc == 128 + SIGTERM);
  g_raiseAt = -1;
  const std::string ckpt = dir.file("ck/checkpoint.safetensors");
  const SafetensorsFile good(ckpt);
  std::vector<std::string> resume = args;
  resume.push_back("--resume");
  auto refused = [&](const std::string& key, const std::string& value, const std::string& needle) {
    SafetensorsFile f = good;
    f.header["__metadata__"][key] = value;
    f.write(ckpt);
    const Result r = runDriver(dir, resume);
    INFO(key << " = " << value << ": " << r.err);
    CHECK(r.rc == 1);
    CHECK_THAT(r.err, Catch::Contains("metadata '" + key + "'") && Catch::Contains(needle));
    CHECK(g_trainBatches.empty());
  };
  refused("sinter_step", "-5", "not a number >= 0");
  refused("sinter_epoch", "1x", "not a number >= 0");
  refused("sinter_epoch_step", "10", "past the 10 steps of an epoch");
  refused("sinter_step", "15", "is optimizer step 14");
  refused("sinter_seen", "100", "see 128 samples");
  refused("sinter_correct", "129", "more than the 128 samples seen");
  refused("sinter_loss_sum", "nan", "not a finite number");
  refused("sinter_seed", "7x", "not a number");
  good.write(ckpt);
  CHECK(runDriver(dir, resume).rc == 0);
}

TEST_CASE("driver reliability: --train-csv with IDX or NPY files is an error, not a silent choice") {
  TempDir dir("rel");
  const Result r = runDriver(dir, {"--train-csv", "a.csv", "--train-images", "x.npy", "--train-labels", "y.npy"});
  CHECK(r.rc == 2);
  CHECK_THAT(r.err, Catch::StartsWith("error: --train-images and --train-csv name two training sets"));
  CHECK(runDriver(dir, {"--train-csv", "a.csv", "--test-labels", "y.gz"}).rc == 2);
}

TEST_CASE("driver reliability: a label out of range names the labels file") {
  TempDir dir("rel");
  writeDataset(dir);
  writeGz(dir.file("labels3.gz"), idxBytes(0x08, {2}, {0, 3}));
  writeGz(dir.file("images2.gz"), idxBytes(0x08, {2, 2, 2}, std::vector<uint8_t>(8, 1)));
  const Result r = runDriver(dir, {"--data", dir.file(""), "--no-save", "--test-images", dir.file("images2.gz"),
                                   "--test-labels", dir.file("labels3.gz")});
  CHECK(r.rc == 1);
  CHECK_THAT(r.err, Catch::StartsWith("error: " + dir.file("labels3.gz") + ": label 3 of sample 1 is out of range"));
  // ... and says what to do: the classes there are, and how to declare a regression instead.
  CHECK_THAT(r.err, Catch::Contains("(labels 0 to 2)") && Catch::Contains("declare the target input") &&
                        Catch::Contains("f32 [batch]"));
}
