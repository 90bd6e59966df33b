// Writes the seed corpus of one runtime fuzz target into a directory: small valid files of each format,
// made with the runtime's own writers where it has them, so that the fuzzer starts from inputs that get
// past the first checks.   usage: sinter_fuzz_seeds idx|idx_gzip|csv|npy|checkpoint DIR
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "fuzz_model.h"
#include "runtime/checkpoint.h"
#include "runtime/npy_writer.h"
#include "runtime/train_position.h"

namespace {

using Bytes = std::vector<std::uint8_t>;

void write(const std::string& path, const Bytes& b) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<long>(b.size()));
}

void writeGz(const std::string& path, const Bytes& b) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, b.data(), static_cast<unsigned>(b.size()));
  gzclose(f);
}

Bytes idx(const std::vector<std::uint32_t>& dims) {
  Bytes out = {0, 0, 0x08, static_cast<std::uint8_t>(dims.size())};
  std::size_t n = 1;
  for (std::uint32_t d : dims) {
    n *= d;
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(d >> shift));
  }
  for (std::size_t i = 0; i < n; ++i) out.push_back(static_cast<std::uint8_t>(i * 37));
  return out;
}

Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s idx|idx_gzip|csv|npy|checkpoint DIR\n", argv[0]);
    return 2;
  }
  const std::string kind = argv[1], dir = std::string(argv[2]) + "/";
  if (kind == "idx" || kind == "idx_gzip") {
    write(dir + "images.idx", idx({3, 2, 2}));
    write(dir + "labels.idx", idx({3}));
    write(dir + "empty.idx", idx({0, 28, 28}));
    if (kind == "idx") writeGz(dir + "images.idx.gz", idx({3, 2, 2}));
  } else if (kind == "csv") {
    // The first byte picks the options (fuzz_csv.cpp): 1 = header, ',' and the last column.
    write(dir + "header.csv", text("\x01" "a,b,label\n1.5,2,0\n\"3\",-4e2,1\n"));
    write(dir + "plain.csv", text("\x02" "1;2;0\r\n3;4;1\r\n"));
    write(dir + "named.csv", text("\x09" "label,x\n0,\"1,5\"\n2, 7 \n"));
  } else if (kind == "npy") {
    sinter::rt::writeNpy(dir + "f4.npy", {3, 2}, {1, 2, 3, 4, 5, 6});
    sinter::rt::writeNpy(dir + "labels.npy", {3}, {0, 1, 2});
    std::string h = "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2), }";
    while ((10 + h.size() + 1) % 64) h += ' ';
    h += '\n';
    Bytes u1 = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<std::uint8_t>(h.size()), 0};
    u1.insert(u1.end(), h.begin(), h.end());
    u1.insert(u1.end(), {1, 2, 3, 4});
    write(dir + "u1.npy", u1);
  } else if (kind == "checkpoint") {
    sinter::fuzz::ModelBuffers b;
    for (std::size_t i = 0; i < b.w.size(); ++i) b.w[i] = 0.5f * static_cast<float>(i) - 1.0f;
    b.b = {0.25f, -0.5f, 2.0f};
    sinter::rt::saveCheckpoint(dir + "weights.safetensors", sinter::fuzz::model(), b.params);
    sinter::rt::Position p;
    p.epoch = 1;
    p.epochStep = 4;
    p.seen = 4 * sinter::fuzz::kRun.batch;
    p.correct = 100;
    p.lossSum = 57.25;
    b.extras.metadata = sinter::rt::positionMetadata(p, 14, sinter::fuzz::kRun);
    sinter::rt::saveCheckpoint(dir + "training.safetensors", sinter::fuzz::model(), b.params, &b.extras);
  } else {
    std::fprintf(stderr, "%s: unknown kind '%s'\n", argv[0], kind.c_str());
    return 2;
  }
  return 0;
}
