// PNG and JPEG through libpng and libjpeg-turbo directly, because both report corrupt or truncated
// data only through callbacks, and both report errors by longjmp. Every longjmp lands in a small
// "phase" function whose locals are plain C values; the C++ objects (buffers, guards that destroy
// the decoder) live in the caller, which the jump never crosses, so no destructor is skipped.
#include "deepcart/data/image.h"

#include <fcntl.h>
#include <png.h>
#include <sys/stat.h>
#include <unistd.h>

// clang-format off
#include <cstdio>  // before jpeglib.h, which uses FILE without including <stdio.h>
#include <jpeglib.h>
#include <jerror.h>
// clang-format on

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csetjmp>
#include <cstring>

namespace deepcart::data {
namespace {

constexpr unsigned char kPngSignature[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
constexpr unsigned char kJpegSignature[] = {0xff, 0xd8, 0xff};
// A progressive JPEG may hold any number of scans, each one a full pass over the image; a few KB
// of crafted scans can keep a decoder busy for minutes. libjpeg-turbo's djpeg -maxscans is the
// model; real encoders write about 10.
constexpr int kMaxJpegScans = 1000;

enum class Match { kNone, kPrefix, kFull };

// kPrefix when the bytes end inside the signature: a cut-off file, not a foreign format.
template <size_t N>
Match match_signature(const std::string& bytes, const unsigned char (&signature)[N]) {
  const size_t n = std::min(bytes.size(), N);
  if (std::memcmp(bytes.data(), signature, n) != 0) return Match::kNone;
  return n == N ? Match::kFull : Match::kPrefix;
}

std::string first_bytes_hex(const std::string& bytes) {
  std::string out;
  char buf[4];
  for (size_t i = 0; i < std::min<size_t>(bytes.size(), 4); ++i) {
    std::snprintf(buf, sizeof buf, "%02x", static_cast<unsigned char>(bytes[i]));
    out += (i ? " " : "") + std::string(buf);
  }
  return out;
}

void check_byte_limit(const std::string& name, int64_t size, const ImageLimits& limits) {
  if (size > limits.max_bytes) {
    throw Error(name + ": file is " + std::to_string(size) + " bytes, over the " +
                std::to_string(limits.max_bytes) + "-byte limit");
  }
}

void check_pixel_limit(const std::string& name, int64_t width, int64_t height,
                       const ImageLimits& limits) {
  const int64_t pixels = width * height;
  if (pixels > limits.max_pixels) {
    throw Error(name + ": " + std::to_string(width) + " x " + std::to_string(height) + " = " +
                std::to_string(pixels) + " pixels, over the " + std::to_string(limits.max_pixels) +
                "-pixel limit");
  }
}

// Images handed in by callers: `what` is the function name, as there is no file to name.
void check_image(const Image& image, const char* what) {
  const std::string prefix = std::string(what) + ": ";
  if (image.channels != 1 && image.channels != 3) {
    throw Error(prefix + "expected an image with 1 or 3 channels, found " +
                std::to_string(image.channels));
  }
  if (image.width < 1 || image.height < 1) {
    throw Error(prefix + "expected a non-empty image, found " + std::to_string(image.width) +
                " x " + std::to_string(image.height));
  }
  const size_t expected = size_t(image.width) * size_t(image.height) * size_t(image.channels);
  if (image.pixels.size() != expected) {
    throw Error(prefix + "a " + std::to_string(image.width) + " x " + std::to_string(image.height) +
                " x " + std::to_string(image.channels) + " image needs " +
                std::to_string(expected) + " bytes, found " + std::to_string(image.pixels.size()));
  }
}

// ---- PNG decoding ----

// libpng's last error message; libpng holds a pointer to it (its "error_ptr").
struct PngMessage {
  char text[256];
};

// Must not return: libpng would then print to stderr and abort the process.
void png_fail(png_structp png, png_const_charp message) {
  auto* out = static_cast<PngMessage*>(png_get_error_ptr(png));
  std::snprintf(out->text, sizeof out->text, "%s", message);
  png_longjmp(png, 1);
}

// The encoded bytes and the read position (libpng's "io_ptr").
struct PngInput {
  const unsigned char* data;
  size_t size;
  size_t pos;
};

void png_read_memory(png_structp png, png_bytep out, size_t n) {
  auto* in = static_cast<PngInput*>(png_get_io_ptr(png));
  if (n > in->size - in->pos) png_error(png, "unexpected end of file");
  std::memcpy(out, in->data + in->pos, n);
  in->pos += n;
}

// Warnings (an odd iCCP profile, a bad CRC in an ancillary chunk, which libpng drops) leave the
// pixels intact, so they are not reasons to reject a photo, nor to print to stderr.
void png_ignore_warning(png_structp, png_const_charp) {}

// Phase 1: the signature and header chunks, so the caller can check the size before allocating.
bool png_read_header(png_structp png, png_infop info) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_info(png, info);
  return true;
}

// Phase 2: every format becomes 8-bit grey, grey+alpha, RGB or RGBA (row_bytes per row), then the
// rest of the file is read so a missing IEND or a bad CRC after the pixels is still caught.
bool png_read_pixels(png_structp png, png_infop info, png_bytep* rows, size_t row_bytes) {
  if (setjmp(png_jmpbuf(png))) return false;
  const int color_type = png_get_color_type(png, info);
  if (png_get_bit_depth(png, info) == 16) png_set_scale_16(png);
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color_type == PNG_COLOR_TYPE_GRAY) png_set_expand_gray_1_2_4_to_8(png);
  if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  if (png_get_rowbytes(png, info) != row_bytes) png_error(png, "unexpected decoded row size");
  png_read_image(png, rows);
  png_read_end(png, nullptr);
  return true;
}

class PngReadGuard {
 public:
  PngReadGuard(png_structp png, png_infop info) : png_(png), info_(info) {}
  ~PngReadGuard() { png_destroy_read_struct(&png_, &info_, nullptr); }
  PngReadGuard(const PngReadGuard&) = delete;
  PngReadGuard& operator=(const PngReadGuard&) = delete;

 private:
  png_structp png_;
  png_infop info_;
};

// Channels after png_read_pixels' transforms: colour (palette or RGB) gives 3, tRNS adds alpha.
int png_decoded_channels(png_structp png, png_infop info) {
  const int color_type = png_get_color_type(png, info);
  const bool colour = (color_type & PNG_COLOR_MASK_COLOR) != 0;
  const bool alpha =
      (color_type & PNG_COLOR_MASK_ALPHA) != 0 || png_get_valid(png, info, PNG_INFO_tRNS) != 0;
  return (colour ? 3 : 1) + (alpha ? 1 : 0);
}

// Photos with transparency are shown on a white page, so that is the background to flatten onto.
Image composite_on_white(std::vector<uint8_t> decoded, int width, int height, int channels) {
  Image image;
  image.width = width;
  image.height = height;
  if (channels == 1 || channels == 3) {
    image.channels = channels;
    image.pixels = std::move(decoded);
    return image;
  }
  image.channels = channels - 1;
  const size_t pixels = size_t(width) * size_t(height);
  image.pixels.resize(pixels * size_t(image.channels));
  for (size_t i = 0; i < pixels; ++i) {
    const uint8_t* in = &decoded[i * size_t(channels)];
    const unsigned alpha = in[channels - 1];
    for (int c = 0; c < image.channels; ++c) {
      image.pixels[i * size_t(image.channels) + c] =
          static_cast<uint8_t>((in[c] * alpha + 255u * (255u - alpha) + 127u) / 255u);
    }
  }
  return image;
}

Image decode_png(const std::string& bytes, const std::string& name, const ImageLimits& limits) {
  PngMessage message{};
  PngInput input{reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), 0};
  png_structp png =
      png_create_read_struct(PNG_LIBPNG_VER_STRING, &message, png_fail, png_ignore_warning);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  PngReadGuard guard(png, info);
  if (png == nullptr || info == nullptr) throw Error(name + ": cannot start libpng: out of memory");
  png_set_read_fn(png, &input, png_read_memory);
  const std::string corrupt = name + ": truncated or corrupt PNG: ";
  if (!png_read_header(png, info)) throw Error(corrupt + message.text);

  const int width = static_cast<int>(png_get_image_width(png, info));
  const int height = static_cast<int>(png_get_image_height(png, info));
  check_pixel_limit(name, width, height, limits);
  const int channels = png_decoded_channels(png, info);
  const size_t row_bytes = size_t(width) * size_t(channels);
  std::vector<uint8_t> decoded(row_bytes * size_t(height));
  std::vector<png_bytep> rows(static_cast<size_t>(height));
  for (size_t y = 0; y < rows.size(); ++y) rows[y] = decoded.data() + y * row_bytes;
  if (!png_read_pixels(png, info, rows.data(), row_bytes)) throw Error(corrupt + message.text);
  return composite_on_white(std::move(decoded), width, height, channels);
}

// ---- JPEG decoding ----

// libjpeg's error manager extended with where to jump and the formatted message.
struct JpegErrors {
  jpeg_error_mgr mgr;  // first, so cinfo->err converts back to JpegErrors*
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void jpeg_fail(j_common_ptr cinfo) {
  auto* errors = reinterpret_cast<JpegErrors*>(cinfo->err);
  cinfo->err->format_message(cinfo, errors->message);
  std::longjmp(errors->jump, 1);
}

// Warnings about header metadata that leave the pixel data complete and correct.
bool is_benign_jpeg_warning(int code) {
  return code == JWRN_JFIF_MAJOR || code == JWRN_ADOBE_XFORM || code == JWRN_NOT_SEQUENTIAL;
}

// libjpeg reports corrupt entropy data and a file that ends early as mere warnings, and fills the
// rest of the image with grey. Those are exactly the files to reject, so every warning not known
// to be benign (including ones added by later versions) is an error.
void jpeg_message(j_common_ptr cinfo, int level) {
  if (level < 0 && !is_benign_jpeg_warning(cinfo->err->msg_code)) jpeg_fail(cinfo);
}

void jpeg_silent(j_common_ptr) {}

void jpeg_check_scans(j_common_ptr cinfo) {
  if (!cinfo->is_decompressor) return;
  const int scan = reinterpret_cast<j_decompress_ptr>(cinfo)->input_scan_number;
  if (scan <= kMaxJpegScans) return;
  auto* errors = reinterpret_cast<JpegErrors*>(cinfo->err);
  std::snprintf(errors->message, sizeof errors->message, "more than %d progressive scans",
                kMaxJpegScans);
  std::longjmp(errors->jump, 1);
}

// Phase 1: create the decoder and read the header, so the caller can check the size first.
bool jpeg_read_header_from(j_decompress_ptr cinfo, JpegErrors* errors, jpeg_progress_mgr* progress,
                           const unsigned char* data, unsigned long size) {
  if (setjmp(errors->jump)) return false;
  jpeg_create_decompress(cinfo);
  cinfo->progress = progress;  // after create, which zeroes the struct
  jpeg_mem_src(cinfo, data, size);
  jpeg_read_header(cinfo, TRUE);
  return true;
}

// Phase 2: decode every row into out (width * channels bytes per row) and read up to EOI.
bool jpeg_read_pixels(j_decompress_ptr cinfo, JpegErrors* errors, unsigned char* out,
                      int channels) {
  if (setjmp(errors->jump)) return false;
  jpeg_start_decompress(cinfo);
  if (cinfo->output_width != cinfo->image_width || cinfo->output_height != cinfo->image_height ||
      cinfo->output_components != channels) {
    std::snprintf(errors->message, sizeof errors->message,
                  "decoder output %u x %u x %d differs from the header", cinfo->output_width,
                  cinfo->output_height, cinfo->output_components);
    return false;
  }
  const size_t row_bytes = size_t(cinfo->output_width) * size_t(channels);
  while (cinfo->output_scanline < cinfo->output_height) {
    JSAMPROW row = out + size_t(cinfo->output_scanline) * row_bytes;
    if (jpeg_read_scanlines(cinfo, &row, 1) != 1) {
      std::snprintf(errors->message, sizeof errors->message, "decoder stopped at row %u",
                    cinfo->output_scanline);
      return false;
    }
  }
  jpeg_finish_decompress(cinfo);
  return true;
}

class JpegGuard {
 public:
  explicit JpegGuard(j_decompress_ptr cinfo) : cinfo_(cinfo) {}
  ~JpegGuard() { jpeg_destroy_decompress(cinfo_); }  // safe at any stage, even before create
  JpegGuard(const JpegGuard&) = delete;
  JpegGuard& operator=(const JpegGuard&) = delete;

 private:
  j_decompress_ptr cinfo_;
};

std::string jpeg_colour_space_name(const jpeg_decompress_struct& cinfo) {
  if (cinfo.jpeg_color_space == JCS_CMYK) return "CMYK";
  if (cinfo.jpeg_color_space == JCS_YCCK) return "YCCK";
  return "an unknown colour space with " + std::to_string(cinfo.num_components) + " components";
}

// Picks grey or RGB output for the file's colour space; CMYK would need the Adobe inversion
// and a colour profile to look right, so it is refused rather than shown with wrong colours.
int jpeg_output_channels(jpeg_decompress_struct& cinfo, const std::string& name) {
  switch (cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE:
      cinfo.out_color_space = JCS_GRAYSCALE;
      return 1;
    case JCS_YCbCr:
    case JCS_RGB:
      cinfo.out_color_space = JCS_RGB;
      return 3;
    default:
      break;
  }
  throw Error(name + ": unsupported JPEG colour space: expected grey or RGB/YCbCr, found " +
              jpeg_colour_space_name(cinfo));
}

Image decode_jpeg(const std::string& bytes, const std::string& name, const ImageLimits& limits) {
  jpeg_decompress_struct cinfo{};  // zeroed, so the guard's destroy is safe whatever fails
  JpegErrors errors{};
  cinfo.err = jpeg_std_error(&errors.mgr);
  errors.mgr.error_exit = jpeg_fail;
  errors.mgr.emit_message = jpeg_message;
  errors.mgr.output_message = jpeg_silent;
  jpeg_progress_mgr progress{};
  progress.progress_monitor = jpeg_check_scans;
  JpegGuard guard(&cinfo);
  const std::string corrupt = name + ": truncated or corrupt JPEG: ";
  if (!jpeg_read_header_from(&cinfo, &errors, &progress,
                             reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size())) {
    throw Error(corrupt + errors.message);
  }

  check_pixel_limit(name, cinfo.image_width, cinfo.image_height, limits);
  Image image;
  image.width = static_cast<int>(cinfo.image_width);
  image.height = static_cast<int>(cinfo.image_height);
  image.channels = jpeg_output_channels(cinfo, name);
  image.pixels.resize(size_t(image.width) * size_t(image.height) * size_t(image.channels));
  if (!jpeg_read_pixels(&cinfo, &errors, image.pixels.data(), image.channels)) {
    throw Error(corrupt + errors.message);
  }
  return image;
}

// ---- PNG encoding ----

void png_write_string(png_structp png, png_bytep data, size_t n) {
  auto* out = static_cast<std::string*>(png_get_io_ptr(png));
  bool ok = true;
  try {  // an exception must not unwind through libpng's C frames
    out->append(reinterpret_cast<const char*>(data), n);
  } catch (...) {
    ok = false;
  }
  if (!ok) png_error(png, "out of memory");
}

void png_flush_nothing(png_structp) {}

bool png_write_rows(png_structp png, png_infop info, const Image& image, png_bytep* rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_IHDR(png, info, png_uint_32(image.width), png_uint_32(image.height), 8,
               image.channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  png_write_image(png, rows);
  png_write_end(png, nullptr);
  return true;
}

class PngWriteGuard {
 public:
  PngWriteGuard(png_structp png, png_infop info) : png_(png), info_(info) {}
  ~PngWriteGuard() { png_destroy_write_struct(&png_, &info_); }
  PngWriteGuard(const PngWriteGuard&) = delete;
  PngWriteGuard& operator=(const PngWriteGuard&) = delete;

 private:
  png_structp png_;
  png_infop info_;
};

// ---- resizing ----

struct Tap {
  int index;
  float weight;
};

// For each output position along one axis, the source positions and weights (summing to 1).
std::vector<std::vector<Tap>> axis_taps(int src, int dst) {
  std::vector<std::vector<Tap>> taps(static_cast<size_t>(dst));
  const double scale = double(src) / dst;
  for (int i = 0; i < dst; ++i) {
    std::vector<double> weights;
    int first = 0;
    if (dst < src) {  // area: the source interval [i * scale, (i + 1) * scale) covers
      const double begin = i * scale, end = (i + 1) * scale;
      first = static_cast<int>(std::floor(begin));
      const int last = std::min(src, static_cast<int>(std::ceil(end)));
      for (int j = first; j < last; ++j) {
        weights.push_back(std::max(0.0, std::min(end, j + 1.0) - std::max(begin, double(j))));
      }
    } else {  // bilinear between the two nearest source centres, clamped at the edges
      const double x = std::clamp((i + 0.5) * scale - 0.5, 0.0, double(src - 1));
      first = static_cast<int>(std::floor(x));
      const double f = x - first;
      weights = {1.0 - f};
      if (first + 1 < src) weights.push_back(f);
    }
    double sum = 0;
    for (double w : weights) sum += w;
    for (size_t k = 0; k < weights.size(); ++k) {
      if (weights[k] > 0) taps[i].push_back({first + int(k), float(weights[k] / sum)});
    }
  }
  return taps;
}

uint8_t round_to_byte(float value) {
  return static_cast<uint8_t>(std::clamp(value, 0.0f, 255.0f) + 0.5f);
}

}  // namespace

bool is_image(const std::string& bytes) {
  return match_signature(bytes, kPngSignature) == Match::kFull ||
         match_signature(bytes, kJpegSignature) == Match::kFull;
}

Image decode_image(const std::string& bytes, const std::string& name, const ImageLimits& limits) {
  check_byte_limit(name, int64_t(bytes.size()), limits);
  if (bytes.empty()) throw Error(name + ": empty file");
  const Match png = match_signature(bytes, kPngSignature);
  const Match jpeg = match_signature(bytes, kJpegSignature);
  if (png == Match::kFull) return decode_png(bytes, name, limits);
  if (jpeg == Match::kFull) return decode_jpeg(bytes, name, limits);
  if (png == Match::kPrefix) {
    throw Error(name + ": truncated or corrupt PNG: file ends in the signature");
  }
  if (jpeg == Match::kPrefix) {
    throw Error(name + ": truncated or corrupt JPEG: file ends in the signature");
  }
  throw Error(name + ": not a PNG or JPEG image (first bytes " + first_bytes_hex(bytes) + ")");
}

Image read_image(const std::string& path, const ImageLimits& limits) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(path + ": cannot open: " + std::strerror(errno));
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw Error(path + ": cannot read: " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw Error(path + ": not a regular file");
  check_byte_limit(path, int64_t(st.st_size), limits);  // before reading a byte

  std::string bytes(size_t(st.st_size), '\0');
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t got = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw Error(path + ": cannot read: " + std::strerror(errno));
    if (got == 0) break;  // shrank since fstat: decode what is there, which reports truncation
    done += size_t(got);
  }
  bytes.resize(done);
  return decode_image(bytes, path, limits);
}

Image convert_channels(const Image& image, int channels) {
  check_image(image, "convert_channels");
  if (channels != 1 && channels != 3) {
    throw Error("convert_channels: expected 1 or 3 target channels, found " +
                std::to_string(channels));
  }
  if (channels == image.channels) return image;
  Image out;
  out.width = image.width;
  out.height = image.height;
  out.channels = channels;
  const size_t pixels = size_t(image.width) * size_t(image.height);
  out.pixels.resize(pixels * size_t(channels));
  for (size_t i = 0; i < pixels; ++i) {
    if (channels == 1) {  // BT.601 luma in integer thousandths, rounded half up
      const uint8_t* rgb = &image.pixels[i * 3];
      out.pixels[i] =
          static_cast<uint8_t>((299u * rgb[0] + 587u * rgb[1] + 114u * rgb[2] + 500u) / 1000u);
    } else {
      std::fill_n(&out.pixels[i * 3], 3, image.pixels[i]);
    }
  }
  return out;
}

Image resize_image(const Image& image, int width, int height) {
  check_image(image, "resize_image");
  if (width < 1 || height < 1) {
    throw Error("resize_image: expected a target size of at least 1 x 1, found " +
                std::to_string(width) + " x " + std::to_string(height));
  }
  const int c = image.channels;
  const auto taps_x = axis_taps(image.width, width);
  const auto taps_y = axis_taps(image.height, height);

  // Horizontal pass into (image.height, width, c) floats, then vertical into the output.
  std::vector<float> rows(size_t(image.height) * size_t(width) * size_t(c), 0.0f);
  for (int y = 0; y < image.height; ++y) {
    const uint8_t* in = &image.pixels[size_t(y) * size_t(image.width) * size_t(c)];
    float* out = &rows[size_t(y) * size_t(width) * size_t(c)];
    for (int x = 0; x < width; ++x) {
      for (const Tap& tap : taps_x[x]) {
        for (int k = 0; k < c; ++k) out[x * c + k] += tap.weight * in[tap.index * c + k];
      }
    }
  }
  Image out;
  out.width = width;
  out.height = height;
  out.channels = c;
  out.pixels.resize(size_t(width) * size_t(height) * size_t(c));
  const size_t row_len = size_t(width) * size_t(c);
  std::vector<float> acc(row_len);
  for (int y = 0; y < height; ++y) {
    std::fill(acc.begin(), acc.end(), 0.0f);
    for (const Tap& tap : taps_y[y]) {
      const float* in = &rows[size_t(tap.index) * row_len];
      for (size_t i = 0; i < row_len; ++i) acc[i] += tap.weight * in[i];
    }
    for (size_t i = 0; i < row_len; ++i)
      out.pixels[size_t(y) * row_len + i] = round_to_byte(acc[i]);
  }
  return out;
}

std::string encode_png(const Image& image) {
  check_image(image, "encode_png");
  std::string bytes;
  PngMessage message{};
  png_structp png =
      png_create_write_struct(PNG_LIBPNG_VER_STRING, &message, png_fail, png_ignore_warning);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  PngWriteGuard guard(png, info);
  if (png == nullptr || info == nullptr)
    throw Error("encode_png: cannot start libpng: out of memory");
  png_set_write_fn(png, &bytes, png_write_string, png_flush_nothing);

  const size_t row_bytes = size_t(image.width) * size_t(image.channels);
  std::vector<png_bytep> rows(static_cast<size_t>(image.height));
  // libpng copies each row before filtering, so the const_cast never leads to a write.
  auto* data = const_cast<png_bytep>(image.pixels.data());
  for (size_t y = 0; y < rows.size(); ++y) rows[y] = data + y * row_bytes;
  if (!png_write_rows(png, info, image, rows.data())) {
    throw Error(std::string("encode_png: ") + message.text);
  }
  return bytes;
}

void write_png(const std::string& path, const Image& image) {
  const std::string bytes = encode_png(image);
  // Readers (a server, a training run) never see half a file: the rename is atomic. No fsync:
  // these are derived images that can be rewritten, and a sync per thumbnail would be slow.
  const std::string tmp = path + ".tmp";
  std::FILE* file = std::fopen(tmp.c_str(), "wb");
  if (file == nullptr) throw Error(path + ": cannot write: " + std::strerror(errno));
  bool ok = std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size();
  int err = errno;
  if (std::fclose(file) != 0 && ok) {  // a full disk may only show at the final flush
    ok = false;
    err = errno;
  }
  if (!ok) {
    std::remove(tmp.c_str());
    throw Error(path + ": cannot write: " + std::strerror(err));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    throw Error(path + ": cannot rename " + tmp + " into place: " + std::strerror(err));
  }
}

}  // namespace deepcart::data
