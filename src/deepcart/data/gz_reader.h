// Reading a file through zlib's gz* calls, which pass plain files through unchanged: one code
// path serves `.gz` and uncompressed files (the IDX images, CSV tables, shipped data sets).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "deepcart/core/error.h"

typedef struct gzFile_s* gzFile;

namespace deepcart::data {

// An open gz stream that turns zlib's error codes into Errors naming the file.
class GzReader {
 public:
  explicit GzReader(const std::string& path);
  ~GzReader();
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;

  // Reads up to n bytes into out and returns how many; fewer only where the data ends. A gzip
  // stream that is cut off counts as an end (zlib reports it so); callers that know the size
  // they expect turn that into a "truncated" error.
  size_t read(void* out, size_t n);

 private:
  [[noreturn]] void fail();

  std::string path_;
  gzFile file_ = nullptr;
};

// True when path ends with ext, ignoring case and a trailing ".gz" ("a.TSV.gz" has ".tsv").
bool has_extension(const std::string& path, const std::string& ext);

}  // namespace deepcart::data
