// Runs a libFuzzer target without libFuzzer: every seed file in the given folders, then a
// fixed number of deterministic mutations of them (bit flips, byte changes, truncation,
// insertion, splicing). Builds without clang still exercise each parser under ASan/UBSan,
// and a crash found by the real fuzzer stays fixed once its input joins the corpus.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

using bytes = std::vector<uint8_t>;

bytes read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void run(const bytes& b) {
  // Copy into an exactly sized heap block so ASan catches a read one past the end.
  auto* copy = static_cast<uint8_t*>(std::malloc(b.size() ? b.size() : 1));
  if (!b.empty()) std::copy(b.begin(), b.end(), copy);
  LLVMFuzzerTestOneInput(copy, b.size());
  std::free(copy);
}

bytes mutate(const std::vector<bytes>& seeds, std::mt19937_64& rng) {
  bytes b = seeds[rng() % seeds.size()];
  const int edits = 1 + static_cast<int>(rng() % 8);
  for (int e = 0; e < edits; ++e) {
    switch (rng() % 6) {
      case 0:
        if (!b.empty()) b[rng() % b.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
        break;
      case 1:
        if (!b.empty()) b[rng() % b.size()] = static_cast<uint8_t>(rng());
        break;
      case 2:
        if (!b.empty()) b.resize(rng() % b.size());
        break;
      case 3:
        b.insert(b.begin() + static_cast<long>(b.empty() ? 0 : rng() % b.size()),
                 static_cast<uint8_t>(rng()));
        break;
      case 4: {  // splice the tail of another seed
        const bytes& o = seeds[rng() % seeds.size()];
        if (!o.empty() && !b.empty()) {
          b.resize(rng() % b.size());
          b.insert(b.end(), o.begin() + static_cast<long>(rng() % o.size()), o.end());
        }
        break;
      }
      case 5: {  // interesting values: 0x00, 0xff, 0x7f, 0x80 and decimal digits
        static constexpr uint8_t values[] = {0x00, 0xff, 0x7f, 0x80, '0', '9', ' ', '\r', '\n', ':'};
        if (!b.empty()) b[rng() % b.size()] = values[rng() % std::size(values)];
        break;
      }
    }
  }
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<bytes> seeds;
  for (int i = 1; i < argc; ++i) {
    std::filesystem::path p(argv[i]);
    if (std::filesystem::is_directory(p)) {
      for (const auto& entry : std::filesystem::recursive_directory_iterator(p))
        if (entry.is_regular_file()) seeds.push_back(read_file(entry.path()));
    } else if (std::filesystem::is_regular_file(p)) {
      seeds.push_back(read_file(p));
    }
  }
  if (seeds.empty()) {
    std::fprintf(stderr, "replay: no seed inputs found\n");
    return 1;
  }
  for (const auto& s : seeds) run(s);
  run(bytes{});

  const char* env = std::getenv("TUTTI_REPLAY_RUNS");
  const long runs = env ? std::atol(env) : 20000;
  std::mt19937_64 rng(0x7077111u);
  for (long i = 0; i < runs; ++i) run(mutate(seeds, rng));
  std::printf("replay: %zu seeds, %ld mutations, no failure\n", seeds.size(), runs);
  return 0;
}
