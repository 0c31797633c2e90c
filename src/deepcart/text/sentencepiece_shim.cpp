// A C interface to SentencePiece, built as its own shared module (libdeepcart_sentencepiece.so)
// and loaded with dlopen(RTLD_LOCAL | RTLD_DEEPBIND) by sentencepiece_lib.cpp.
//
// Why: Debian's libsentencepiece bundles protobuf-lite and exports its symbols, while LibTorch
// pulls in the system libprotobuf. Linked into one program, the system library's start-up code
// binds to SentencePiece's copies and crashes before main(). Loaded locally and deep-bound,
// SentencePiece keeps its protobuf to itself.
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

char* copy(const std::string& s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  std::memcpy(p, s.data(), s.size());
  p[s.size()] = '\0';
  return p;
}

class Sentences : public sentencepiece::SentenceIterator {
 public:
  Sentences(const char* const* texts, const size_t* lengths, size_t n)
      : texts_(texts), lengths_(lengths), n_(n) {
    load();
  }
  bool done() const override { return i_ >= n_; }
  void Next() override {
    ++i_;
    load();
  }
  const std::string& value() const override { return current_; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  void load() {
    if (i_ < n_) current_.assign(texts_[i_], lengths_[i_]);
  }
  const char* const* texts_;
  const size_t* lengths_;
  size_t n_, i_ = 0;
  std::string current_;
};

}  // namespace

extern "C" {

int deepcart_spm_train(const char* args, const char* const* texts, const size_t* lengths, size_t n,
                       char** model, size_t* model_len, char** error) {
  std::unordered_map<std::string, std::string> kwargs;
  std::istringstream lines(args);
  for (std::string line; std::getline(lines, line);) {
    const size_t eq = line.find('=');
    if (eq != std::string::npos) kwargs[line.substr(0, eq)] = line.substr(eq + 1);
  }
  Sentences it(texts, lengths, n);
  std::string out;
  const auto status = sentencepiece::SentencePieceTrainer::Train(kwargs, &it, &out);
  if (!status.ok()) {
    *error = copy(status.ToString());
    return 1;
  }
  *model = copy(out);
  *model_len = out.size();
  return 0;
}

void* deepcart_spm_load(const char* proto, size_t len, char** error) {
  auto* sp = new sentencepiece::SentencePieceProcessor();
  const auto status = sp->LoadFromSerializedProto(std::string(proto, len));
  if (!status.ok()) {
    *error = copy(status.ToString());
    delete sp;
    return nullptr;
  }
  return sp;
}

void deepcart_spm_release(void* processor) {
  delete static_cast<sentencepiece::SentencePieceProcessor*>(processor);
}

int deepcart_spm_size(void* processor) {
  return static_cast<sentencepiece::SentencePieceProcessor*>(processor)->GetPieceSize();
}

int deepcart_spm_unk(void* processor) {
  return static_cast<sentencepiece::SentencePieceProcessor*>(processor)->unk_id();
}

const char* deepcart_spm_piece(void* processor, int id, size_t* len) {
  const std::string& piece =
      static_cast<sentencepiece::SentencePieceProcessor*>(processor)->IdToPiece(id);
  *len = piece.size();
  return piece.data();
}

int deepcart_spm_encode(void* processor, const char* text, size_t len,
                        void (*emit)(void* ctx, int id, const char* piece, size_t piece_len),
                        void* ctx, char** error) {
  auto* sp = static_cast<sentencepiece::SentencePieceProcessor*>(processor);
  try {
    const auto spt = sp->EncodeAsImmutableProto(std::string(text, len));
    for (int i = 0; i < static_cast<int>(spt.pieces_size()); ++i) {
      const auto piece = spt.pieces(i);
      emit(ctx, static_cast<int>(piece.id()), piece.piece().data(), piece.piece().size());
    }
  } catch (const std::exception& e) {
    *error = copy(e.what());
    return 1;
  }
  return 0;
}

void deepcart_spm_free(char* p) { std::free(p); }

}  // extern "C"
