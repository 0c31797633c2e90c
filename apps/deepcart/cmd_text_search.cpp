// deepcart text embed | index | search: sentence embeddings and semantic search (the workflows:
// text/embed.h, text/text_index.h)
#include <cstdio>

#include "cli_common.h"
#include "deepcart/text/embed.h"
#include "deepcart/text/text_index.h"

namespace deepcart::cli {
namespace {

constexpr const char* kEncoderHelp =
    "minilm (all-MiniLM-L6-v2, installed by setup), a sentence-transformers BERT folder, or a "
    "text model trained with --model minilm (its fine-tuned encoder)";

void add_input_flags(CLI::App* cmd, std::vector<std::string>& text_cols, std::string& id_col,
                     text::EmbedOptions& embed) {
  cmd->add_option("--text-col", text_cols,
                  "CSV/TSV/JSONL: text column(s), joined in order (repeat the flag); without it "
                  "the file is plain text, one text per line (empty lines skipped)");
  cmd->add_option("--id-col", id_col,
                  "CSV/TSV/JSONL: a column naming each text (an intent, a product id); rows "
                  "with an empty id are skipped and counted");
  opt(cmd, "--batch-size", embed.batch_size, "texts per forward pass")->check(CLI::Range(1, 65536));
}

void add_embed_command(CLI::App* group) {
  struct Flags : Common {
    text::EmbedFileOptions o;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = add_command(group, "embed",
                          "sentence embeddings of texts: unit-length vectors (dot product = "
                          "cosine similarity)",
                          *f);
  opt(cmd, "--encoder", f->o.encoder, kEncoderHelp);
  cmd->add_option("--input", f->o.input, "texts: a text file (one per line), CSV, TSV or JSONL")
      ->required();
  add_input_flags(cmd, f->o.text_cols, f->o.id_col, f->o.embed);
  cmd->add_option("--out", f->o.out,
                  "FILE.npy: float32 (texts, dim), rows in input order; any other name: JSON "
                  "Lines, {\"text\", \"embedding\"} per text (and \"id\" with --id-col)")
      ->required();
  cmd->callback([=] {
    init_context(*f);
    text::EmbedFileOptions o = f->o;
    o.embed.quiet = f->quiet;
    const nlohmann::json r = text::embed_file(o);
    if (f->json) return print_json(r);
    std::printf("embedded %lld texts (%lld dims) in %.1f s (%.0f texts/s) -> %s (%s)\n",
                r["texts"].get<long long>(), r["dim"].get<long long>(), r["seconds"].get<double>(),
                r["texts_per_second"].get<double>(), o.out.c_str(),
                r["format"].get<std::string>().c_str());
    std::printf("read: %s\n", r["read"].get<std::string>().c_str());
  });
}

void add_index_command(CLI::App* group) {
  struct Flags : Common {
    text::IndexFileOptions o;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = add_command(
      group, "index",
      "embed answers or products for semantic search; the index names its encoder (not a copy)",
      *f);
  opt(cmd, "--encoder", f->o.encoder, kEncoderHelp);
  cmd->add_option("--data", f->o.data, "texts: a text file (one per line), CSV, TSV or JSONL")
      ->required();
  add_input_flags(cmd, f->o.text_cols, f->o.id_col, f->o.embed);
  cmd->add_option("--out", f->o.out,
                  "index file to write (a ModelFile of task text-index: embeddings, texts, ids, "
                  "and the encoder's source and weight fingerprint)")
      ->required();
  cmd->callback([=] {
    init_context(*f);
    text::IndexFileOptions o = f->o;
    o.embed.quiet = f->quiet;
    const nlohmann::json r = text::index_file(o);
    if (f->json) return print_json(r);
    std::printf("indexed %lld texts in %.1f s -> %s (%s search, encoder %s)\n",
                r["texts"].get<long long>(), r["seconds"].get<double>(), o.out.c_str(),
                r["faiss"].get<bool>() ? "FAISS HNSW" : "exact",
                r["encoder"].get<std::string>().c_str());
    std::printf("read: %s\n", r["read"].get<std::string>().c_str());
  });
}

void add_search_command(CLI::App* group) {
  struct Flags : Common {
    text::SearchOptions o;
    std::string file;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = add_command(group, "search",
                          "the indexed texts closest in meaning to each question, with their "
                          "cosine similarity",
                          *f);
  cmd->add_option("questions", f->o.queries, "questions (or any texts) to look up");
  cmd->add_option("--file", f->file, "a file with one question per line");
  cmd->add_option("--index", f->o.index, "index from `deepcart text index`")->required();
  cmd->add_option("--encoder", f->o.encoder,
                  "load the index's encoder from here instead of where it was built (a moved "
                  "model); its weights must be the same");
  opt(cmd, "--k", f->o.k, "results per question")->check(CLI::Range(1, 1000));
  cmd->callback([=] {
    init_context(*f);
    text::SearchOptions o = f->o;
    o.queries = text::texts_from(o.queries, f->file);
    o.embed.quiet = f->quiet;
    const nlohmann::json r = text::search_index(o);
    if (f->json) return print_json(r);
    std::printf("%s", text::describe_search(r).c_str());
  });
}

}  // namespace

void add_text_search_commands(CLI::App* group) {
  add_embed_command(group);
  add_index_command(group);
  add_search_command(group);
}

}  // namespace deepcart::cli
