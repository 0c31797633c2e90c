#include "deepcart/text/sentencepiece_lib.h"

#include <dlfcn.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>

#include "deepcart/core/error.h"

namespace deepcart::text {
namespace {

struct Api {
  int (*train)(const char*, const char* const*, const size_t*, size_t, char**, size_t*, char**);
  void* (*load)(const char*, size_t, char**);
  void (*release)(void*);
  int (*size)(void*);
  int (*unk)(void*);
  const char* (*piece)(void*, int, size_t*);
  int (*encode)(void*, const char*, size_t, void (*)(void*, int, const char*, size_t), void*,
                char**);
  void (*free)(char*);
};

std::string module_path() {
  if (const char* env = std::getenv("DEEPCART_SENTENCEPIECE_LIB")) return env;
  std::error_code ec;
  const auto beside = std::filesystem::read_symlink("/proc/self/exe", ec).parent_path() /
                      "libdeepcart_sentencepiece.so";
  if (!ec && std::filesystem::exists(beside)) return beside.string();
  return DEEPCART_SENTENCEPIECE_PATH;
}

const Api& api() {
  static Api a;
  static std::once_flag once;
  static std::string failure;
  std::call_once(once, [] {
    const std::string path = module_path();
    void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (!lib) {
      failure = "tokenizer: cannot load SentencePiece (" + std::string(dlerror()) +
                "); set DEEPCART_SENTENCEPIECE_LIB to libdeepcart_sentencepiece.so";
      return;
    }
    auto sym = [&](const char* name) {
      void* s = dlsym(lib, name);
      if (!s) failure = "tokenizer: " + path + " lacks " + name;
      return s;
    };
    a.train = reinterpret_cast<decltype(a.train)>(sym("deepcart_spm_train"));
    a.load = reinterpret_cast<decltype(a.load)>(sym("deepcart_spm_load"));
    a.release = reinterpret_cast<decltype(a.release)>(sym("deepcart_spm_release"));
    a.size = reinterpret_cast<decltype(a.size)>(sym("deepcart_spm_size"));
    a.unk = reinterpret_cast<decltype(a.unk)>(sym("deepcart_spm_unk"));
    a.piece = reinterpret_cast<decltype(a.piece)>(sym("deepcart_spm_piece"));
    a.encode = reinterpret_cast<decltype(a.encode)>(sym("deepcart_spm_encode"));
    a.free = reinterpret_cast<decltype(a.free)>(sym("deepcart_spm_free"));
  });
  if (!failure.empty()) throw Error(failure);
  return a;
}

std::string take_error(const Api& a, char* error) {
  std::string message = error ? error : "unknown error";
  if (error) a.free(error);
  return message;
}

}  // namespace

std::string sentencepiece_train(const std::vector<std::pair<std::string, std::string>>& args,
                                const std::vector<std::string>& sentences) {
  const Api& a = api();
  std::string flat;
  for (const auto& [key, value] : args) flat += key + "=" + value + "\n";
  std::vector<const char*> texts;
  std::vector<size_t> lengths;
  for (const auto& s : sentences) {
    texts.push_back(s.data());
    lengths.push_back(s.size());
  }
  char *model = nullptr, *error = nullptr;
  size_t model_len = 0;
  if (a.train(flat.c_str(), texts.data(), lengths.data(), texts.size(), &model, &model_len,
              &error) != 0) {
    throw Error(take_error(a, error));
  }
  std::string out(model, model_len);
  a.free(model);
  return out;
}

SentencePieceModel::SentencePieceModel(const std::string& proto) {
  const Api& a = api();
  char* error = nullptr;
  handle_ = a.load(proto.data(), proto.size(), &error);
  if (!handle_) throw Error(take_error(a, error));
}

SentencePieceModel::~SentencePieceModel() {
  if (handle_) api().release(handle_);
}

int SentencePieceModel::size() const { return api().size(handle_); }
int SentencePieceModel::unk_id() const { return api().unk(handle_); }

std::string SentencePieceModel::piece(int id) const {
  size_t len = 0;
  const char* p = api().piece(handle_, id, &len);
  return std::string(p, len);
}

std::vector<std::pair<int, std::string>> SentencePieceModel::encode(const std::string& text) const {
  std::vector<std::pair<int, std::string>> out;
  auto emit = [](void* ctx, int id, const char* piece, size_t len) {
    static_cast<std::vector<std::pair<int, std::string>>*>(ctx)->emplace_back(
        id, std::string(piece, len));
  };
  char* error = nullptr;
  if (api().encode(handle_, text.data(), text.size(), emit, &out, &error) != 0)
    throw Error(take_error(api(), error));
  return out;
}

}  // namespace deepcart::text
