// deepcart's C++ MiniLM embedding texts (text/embed.h), timed the way bench/peers/encoder.py
// times sentence-transformers: one warm-up pass over the first 128 texts, then every text of the
// file at batch 1 (one call per text) and in batches (sorted by length inside embed()).
// Tokenising is included. Prints one JSON line like the peer's.
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "deepcart/core/context.h"
#include "deepcart/text/embed.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s TEXTS.txt [threads=2] [encoder=minilm]\n", argv[0]);
    return 2;
  }
  deepcart::ContextOptions options;
  options.threads = argc > 2 ? std::atoi(argv[2]) : 2;
  deepcart::context_init(options);
  const std::string source = argc > 3 ? argv[3] : "minilm";
  std::ifstream in(argv[1]);
  std::vector<std::string> texts;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) texts.push_back(line);
  }
  if (texts.empty()) {
    std::fprintf(stderr, "%s: no texts\n", argv[1]);
    return 2;
  }
  auto encoder = deepcart::text::SentenceEncoder::load(source);
  std::string speeds;
  for (int64_t batch : {1, 64}) {
    deepcart::text::EmbedOptions o;
    o.batch_size = batch;
    const std::vector<std::string> warm(texts.begin(),
                                        texts.begin() + std::min<size_t>(128, texts.size()));
    encoder.embed(warm, o);
    const auto start = std::chrono::steady_clock::now();
    if (batch == 1) {
      for (const auto& t : texts) encoder.embed({t}, o);
    } else {
      encoder.embed(texts, o);
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    speeds += (speeds.empty() ? "" : ", ") + std::string("\"") + std::to_string(batch) +
              "\": " + std::to_string(texts.size() / seconds);
  }
  std::printf(
      "{\"peer\": \"deepcart\", \"threads\": %d, \"texts\": %zu, \"texts_per_second\": {%s}}\n",
      options.threads, texts.size(), speeds.c_str());
  return 0;
}
