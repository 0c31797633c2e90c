#include "deepcart/data/gz_reader.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

namespace deepcart::data {
namespace {

constexpr size_t kChunkBytes = size_t{1} << 20;
// zlib's default 8 KB input buffer would mean thousands of read() calls for a large file.
constexpr unsigned kGzBufferBytes = 1u << 17;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

GzReader::GzReader(const std::string& path) : path_(path) {
  errno = 0;
  file_ = gzopen(path.c_str(), "rb");
  if (file_ == nullptr) {
    // gzopen leaves errno at 0 when it fails without a system call (out of memory).
    if (errno != 0) throw Error(path + ": cannot open: " + std::strerror(errno));
    throw Error(path + ": cannot open");
  }
  gzbuffer(file_, kGzBufferBytes);
}

GzReader::~GzReader() { gzclose(file_); }

size_t GzReader::read(void* out, size_t n) {
  auto* bytes = static_cast<unsigned char*>(out);
  size_t done = 0;
  while (done < n) {
    const auto chunk = static_cast<unsigned>(std::min(n - done, kChunkBytes));
    const int got = gzread(file_, bytes + done, chunk);
    if (got < 0) fail();
    done += static_cast<size_t>(got);
    if (static_cast<unsigned>(got) < chunk) break;
  }
  return done;
}

void GzReader::fail() {
  int code = Z_OK;
  std::string message = gzerror(file_, &code);
  // zlib prefixes its message with the path; ours already starts with it.
  const std::string prefix = path_ + ": ";
  if (message.compare(0, prefix.size(), prefix) == 0) message.erase(0, prefix.size());
  if (code == Z_ERRNO) throw Error(path_ + ": cannot read: " + message);
  if (code == Z_MEM_ERROR) throw Error(path_ + ": out of memory while decompressing");
  throw Error(path_ + ": corrupt gzip data: " + message);
}

bool has_extension(const std::string& path, const std::string& ext) {
  std::string name = lower(path);
  if (name.size() > 3 && name.compare(name.size() - 3, 3, ".gz") == 0) name.resize(name.size() - 3);
  const std::string want = lower(ext);
  return name.size() >= want.size() &&
         name.compare(name.size() - want.size(), want.size(), want) == 0;
}

}  // namespace deepcart::data
