#include "deepcart/text/text_index.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "deepcart/core/error.h"
#include "deepcart/core/model_file.h"
#include "deepcart/core/text_out.h"

namespace deepcart::text {
namespace fs = std::filesystem;
namespace {

// What an index stores to find its encoder again: "minilm" as it is, a path made absolute so
// that the index can be searched from any folder.
std::string stored_source(const std::string& source) {
  if (source == "minilm") return source;
  return fs::absolute(source).lexically_normal().string();
}

std::string short_hash(const std::string& hex) { return hex.substr(0, 12); }

}  // namespace

TextIndex TextIndex::build(SentenceEncoder encoder, std::vector<std::string> texts,
                           std::vector<std::string> ids, const EmbedOptions& options) {
  if (texts.empty()) throw Error("text index: no texts to index");
  if (!ids.empty() && ids.size() != texts.size()) {
    throw Error("text index: " + std::to_string(ids.size()) + " ids for " +
                std::to_string(texts.size()) + " texts");
  }
  for (size_t i = 0; i < texts.size(); ++i) {
    check_utf8(texts[i], "text " + std::to_string(i));
    if (!ids.empty()) check_utf8(ids[i], "id " + std::to_string(i));
  }
  if (ids.empty()) {
    for (size_t i = 0; i < texts.size(); ++i) ids.push_back(std::to_string(i));
  }
  TextIndex index(std::move(encoder));
  index.encoder_source_ = stored_source(index.encoder_.source());
  index.vectors_ = VectorIndex(index.encoder_.embed(texts, options));
  index.texts_ = std::move(texts);
  index.ids_ = std::move(ids);
  return index;
}

void TextIndex::save(const std::string& path) const {
  const nlohmann::json encoder = {{"source", encoder_source_},
                                  {"fingerprint", encoder_.fingerprint()},
                                  {"dim", encoder_.dim()},
                                  {"max_length", encoder_.max_length()}};
  ModelFile f = ModelFile::create("text-index", "embeddings", nlohmann::json::object(),
                                  {{"encoder", encoder}, {"texts", texts_}, {"ids", ids_}});
  f.tensors = {{"embeddings", embeddings()}};
  model_file_write(f, path);
}

TextIndex TextIndex::load(const std::string& path, const std::string& encoder) {
  ModelFile f = model_file_read(path, "text-index");
  std::vector<std::string> texts, ids;
  std::string source, fingerprint;
  VectorIndex vectors;
  f.checked_load([&] {
    const nlohmann::json& e = f.meta.at("encoder");
    source = e.at("source").get<std::string>();
    fingerprint = e.at("fingerprint").get<std::string>();
    texts = f.meta.at("texts").get<std::vector<std::string>>();
    ids = f.meta.at("ids").get<std::vector<std::string>>();
    const auto n = static_cast<int64_t>(texts.size());
    if (n == 0) throw Error("metadata 'texts': the index is empty");
    if (static_cast<int64_t>(ids.size()) != n) {
      throw Error("metadata 'ids': " + std::to_string(ids.size()) + " ids for " +
                  std::to_string(n) + " texts");
    }
    vectors = VectorIndex(f.tensor("embeddings", at::kFloat, {n, e.at("dim").get<int64_t>()}));
  });
  const std::string from = encoder.empty() ? source : encoder;
  SentenceEncoder loaded = [&] {
    try {
      return SentenceEncoder::load(from);
    } catch (const Error& e) {
      throw Error(path + ": its encoder: " + e.what() +
                  (encoder.empty() ? " (give --encoder to load it from elsewhere)" : ""));
    }
  }();
  if (loaded.fingerprint() != fingerprint) {
    throw Error(path + ": built with the encoder " + source + " (weights " +
                short_hash(fingerprint) + "), but " + from + " has other weights (" +
                short_hash(loaded.fingerprint()) +
                "): search with the encoder it was built with, or rebuild the index with "
                "`deepcart text index`");
  }
  TextIndex index(std::move(loaded));
  index.encoder_source_ = source;
  index.vectors_ = std::move(vectors);
  index.texts_ = std::move(texts);
  index.ids_ = std::move(ids);
  return index;
}

std::vector<std::vector<Neighbour>> TextIndex::search(const std::vector<std::string>& queries,
                                                      int64_t k,
                                                      const EmbedOptions& options) const {
  if (k < 1) throw Error("--k: expected at least 1, found " + std::to_string(k));
  if (queries.empty()) return {};
  return vectors_.search(encoder_.embed(queries, options), k);
}

nlohmann::json TextIndex::to_json(const std::string& query,
                                  const std::vector<Neighbour>& found) const {
  nlohmann::json results = nlohmann::json::array();
  for (const Neighbour& n : found) {
    results.push_back(
        {{"id", ids_[n.item]}, {"text", texts_[n.item]}, {"similarity", n.similarity}});
  }
  return {{"query", query}, {"results", results}};
}

nlohmann::json index_file(const IndexFileOptions& o) {
  if (o.out.empty()) throw Error("--out: required");
  TextFile data = read_texts(o.data, o.text_cols, o.id_col);
  if (data.texts.empty()) throw Error(o.data + ": no texts (" + data.summary() + ")");
  const auto t0 = std::chrono::steady_clock::now();
  TextIndex index = TextIndex::build(SentenceEncoder::load(o.encoder), std::move(data.texts),
                                     std::move(data.ids), o.embed);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  index.save(o.out);
  return {{"index", o.out},
          {"texts", index.size()},
          {"dim", index.encoder().dim()},
          {"encoder", index.encoder_source()},
          {"seconds", seconds},
          {"texts_per_second", index.size() / std::max(seconds, 1e-9)},
          {"faiss", index.uses_faiss()},
          {"read", data.summary()}};
}

nlohmann::json search_index(const SearchOptions& o) {
  if (o.queries.empty()) throw Error("no question given: pass it as an argument or with --file");
  for (size_t i = 0; i < o.queries.size(); ++i)
    check_utf8(o.queries[i], "question " + std::to_string(i + 1));
  const TextIndex index = TextIndex::load(o.index, o.encoder);
  const auto found = index.search(o.queries, o.k, o.embed);
  nlohmann::json out = nlohmann::json::array();
  for (size_t i = 0; i < o.queries.size(); ++i)
    out.push_back(index.to_json(o.queries[i], found[i]));
  return out;
}

std::string describe_search(const nlohmann::json& results) {
  TextOut out;
  for (const auto& q : results) {
    out.add("%s\n", q.at("query").get<std::string>().c_str());
    for (const auto& r : q.at("results")) {
      const std::string id = r.at("id").get<std::string>(), text = r.at("text").get<std::string>();
      if (id == text) {
        out.add("  %.4f  %s\n", r.at("similarity").get<double>(), id.c_str());
      } else {
        out.add("  %.4f  %-24s %s\n", r.at("similarity").get<double>(), id.c_str(), text.c_str());
      }
    }
  }
  return out.s;
}

}  // namespace deepcart::text
