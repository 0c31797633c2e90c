// SentencePiece through its own locally loaded module (see sentencepiece_shim.cpp for why):
// training from sentences in memory, and a processor for encoding. The module is found at
// $DEEPCART_SENTENCEPIECE_LIB, beside the running program, or where the build put it.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace deepcart::text {

// Trains on `sentences` with SentencePiece's key=value arguments; returns the model proto.
// Throws Error with SentencePiece's message on failure.
std::string sentencepiece_train(const std::vector<std::pair<std::string, std::string>>& args,
                                const std::vector<std::string>& sentences);

class SentencePieceModel {
 public:
  explicit SentencePieceModel(const std::string& model_proto);  // throws Error
  ~SentencePieceModel();
  SentencePieceModel(const SentencePieceModel&) = delete;
  SentencePieceModel& operator=(const SentencePieceModel&) = delete;
  int size() const;
  int unk_id() const;
  std::string piece(int id) const;
  // (SentencePiece id, piece) per piece of `text`.
  std::vector<std::pair<int, std::string>> encode(const std::string& text) const;

 private:
  void* handle_ = nullptr;
};

}  // namespace deepcart::text
