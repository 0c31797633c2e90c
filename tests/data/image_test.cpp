// Image I/O contract: round trips, every PNG colour type libpng can hand us, JPEGs made here with
// libjpeg's own compressor, each exact error message, and every cut-off prefix of a PNG and a
// JPEG rejected as truncated (the point of using libpng/libjpeg directly rather than stb).
#include "deepcart/data/image.h"

#include <gtest/gtest.h>
#include <png.h>

// clang-format off
#include <cstdio>  // before jpeglib.h, which uses FILE without including <stdio.h>
#include <jpeglib.h>
// clang-format on

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "error_of.h"
#include "temp_dir.h"

namespace deepcart::data {
namespace {

using test::error_of;

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

// A width x height image whose pixels differ from their neighbours, so a swapped row, column or
// channel shows up.
Image pattern(int width, int height, int channels) {
  Image image{width, height, channels, {}};
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < channels; ++c) {
        image.pixels.push_back(static_cast<uint8_t>((x * 37 + y * 101 + c * 59) % 256));
      }
    }
  }
  return image;
}

// A gentle gradient from 20 to at most 240: what JPEG keeps well, so a decoded copy stays close.
Image smooth(int width, int height, int channels) {
  Image image{width, height, channels, {}};
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < channels; ++c) {
        image.pixels.push_back(
            static_cast<uint8_t>(20 + 140 * x / width + 40 * y / height + 20 * c));
      }
    }
  }
  return image;
}

Image grey(int width, int height, std::vector<uint8_t> pixels) {
  return Image{width, height, 1, std::move(pixels)};
}

// Encodes with libjpeg's compressor. CMYK input gives an Adobe CMYK file.
std::string encode_jpeg(const Image& image, J_COLOR_SPACE colour_space, bool progressive = false,
                        const std::vector<jpeg_scan_info>& scans = {}) {
  jpeg_compress_struct cinfo{};
  jpeg_error_mgr errors{};
  cinfo.err = jpeg_std_error(&errors);
  jpeg_create_compress(&cinfo);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &buffer, &size);
  cinfo.image_width = static_cast<JDIMENSION>(image.width);
  cinfo.image_height = static_cast<JDIMENSION>(image.height);
  cinfo.input_components = image.channels;
  cinfo.in_color_space = colour_space;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, 95, TRUE);
  if (progressive) jpeg_simple_progression(&cinfo);
  if (!scans.empty()) {
    cinfo.scan_info = scans.data();
    cinfo.num_scans = static_cast<int>(scans.size());
  }
  jpeg_start_compress(&cinfo, TRUE);
  const size_t row_bytes = size_t(image.width) * size_t(image.channels);
  while (cinfo.next_scanline < cinfo.image_height) {
    auto* row = const_cast<JSAMPROW>(&image.pixels[cinfo.next_scanline * row_bytes]);
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::string bytes(reinterpret_cast<const char*>(buffer), size);
  std::free(buffer);
  return bytes;
}

// A PNG of any colour type and bit depth, from rows already packed as the PNG stores them.
struct RawPng {
  int width = 0, height = 0, bit_depth = 8, color_type = PNG_COLOR_TYPE_GRAY;
  std::string rows;
  std::vector<png_color> palette;
  std::vector<png_byte> palette_alpha;
  bool interlaced = false;
};

void append_to_string(png_structp png, png_bytep data, size_t n) {
  static_cast<std::string*>(png_get_io_ptr(png))->append(reinterpret_cast<char*>(data), n);
}

std::string encode_raw_png(const RawPng& spec) {
  std::string bytes;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  png_set_write_fn(png, &bytes, append_to_string, nullptr);
  png_set_IHDR(png, info, spec.width, spec.height, spec.bit_depth, spec.color_type,
               spec.interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (!spec.palette.empty()) {
    png_set_PLTE(png, info, spec.palette.data(), static_cast<int>(spec.palette.size()));
  }
  if (!spec.palette_alpha.empty()) {
    png_set_tRNS(png, info, spec.palette_alpha.data(), static_cast<int>(spec.palette_alpha.size()),
                 nullptr);
  }
  png_write_info(png, info);
  const size_t row_bytes = spec.rows.size() / size_t(spec.height);
  std::vector<png_bytep> rows;
  std::string data = spec.rows;
  for (int y = 0; y < spec.height; ++y) {
    rows.push_back(reinterpret_cast<png_bytep>(&data[size_t(y) * row_bytes]));
  }
  png_write_image(png, rows.data());
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return bytes;
}

// Offset of the first byte of the first IDAT chunk's data.
size_t idat_data_offset(const std::string& png) {
  const size_t type = png.find("IDAT");
  EXPECT_NE(type, std::string::npos);
  return type + 4;
}

void expect_same(const Image& actual, const Image& expected) {
  EXPECT_EQ(actual.width, expected.width);
  EXPECT_EQ(actual.height, expected.height);
  EXPECT_EQ(actual.channels, expected.channels);
  EXPECT_EQ(actual.pixels, expected.pixels);
}

int max_abs_diff(const Image& a, const Image& b) {
  int worst = 0;
  for (size_t i = 0; i < std::min(a.pixels.size(), b.pixels.size()); ++i) {
    worst = std::max(worst, std::abs(int(a.pixels[i]) - int(b.pixels[i])));
  }
  return worst;
}

class ImageTest : public ::deepcart::test_data::TempDirTest {};

// ---- round trips and formats ----

TEST_F(ImageTest, PngRoundTripGreyAndRgb) {
  for (int channels : {1, 3}) {
    const Image original = pattern(7, 5, channels);
    const std::string bytes = encode_png(original);
    EXPECT_TRUE(is_image(bytes));
    expect_same(decode_image(bytes, "p.png"), original);
  }
}

TEST_F(ImageTest, WritePngThenReadImage) {
  const Image original = pattern(9, 4, 3);
  const std::string path = dir_ + "/out.png";
  write_png(path, original);
  expect_same(read_image(path), original);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST_F(ImageTest, WritePngIntoMissingFolderNamesThePath) {
  const std::string path = dir_ + "/no/such/dir/out.png";
  EXPECT_EQ(error_of([&] { write_png(path, pattern(2, 2, 1)); }),
            path + ": cannot write: No such file or directory");
}

TEST_F(ImageTest, InterlacedPngDecodesLikePlain) {
  const Image original = pattern(9, 7, 3);
  RawPng spec;
  spec.width = 9;
  spec.height = 7;
  spec.color_type = PNG_COLOR_TYPE_RGB;
  spec.rows.assign(original.pixels.begin(), original.pixels.end());
  spec.interlaced = true;
  expect_same(decode_image(encode_raw_png(spec), "i.png"), original);
}

TEST_F(ImageTest, GreyAlphaPngIsCompositedOnWhite) {
  RawPng spec;
  spec.width = 3;
  spec.height = 1;
  spec.color_type = PNG_COLOR_TYPE_GRAY_ALPHA;
  spec.rows = std::string(
      "\x00\x00"
      "\x00\xff"
      "\x64\x80",
      6);  // transparent, opaque, half
  // 100 at alpha 128: (100 * 128 + 255 * 127) / 255 = 177.7, and the formula rounds to 177.
  expect_same(decode_image(encode_raw_png(spec), "ga.png"), grey(3, 1, {255, 0, 177}));
}

TEST_F(ImageTest, RgbaPngIsCompositedOnWhite) {
  RawPng spec;
  spec.width = 2;
  spec.height = 1;
  spec.color_type = PNG_COLOR_TYPE_RGB_ALPHA;
  spec.rows = std::string(
      "\xff\x00\x00\x00"
      "\x0a\x14\x1e\xff",
      8);
  expect_same(decode_image(encode_raw_png(spec), "rgba.png"),
              Image{2, 1, 3, {255, 255, 255, 10, 20, 30}});
}

TEST_F(ImageTest, SixteenBitGreyIsScaledToEightBits) {
  RawPng spec;
  spec.width = 3;
  spec.height = 1;
  spec.bit_depth = 16;
  spec.rows = std::string(
      "\x00\x00"
      "\xff\xff"
      "\xab\xcd",
      6);  // big-endian samples
  // 0xabcd * 255 / 65535 = 171.1
  expect_same(decode_image(encode_raw_png(spec), "g16.png"), grey(3, 1, {0, 255, 171}));
}

TEST_F(ImageTest, OneBitGreyIsExpanded) {
  RawPng spec;
  spec.width = 8;
  spec.height = 1;
  spec.bit_depth = 1;
  spec.rows = std::string("\xa0", 1);  // 1 0 1 0 0 0 0 0
  expect_same(decode_image(encode_raw_png(spec), "g1.png"),
              grey(8, 1, {255, 0, 255, 0, 0, 0, 0, 0}));
}

TEST_F(ImageTest, PaletteWithTransparencyBecomesRgbOnWhite) {
  RawPng spec;
  spec.width = 4;
  spec.height = 1;
  spec.bit_depth = 2;
  spec.color_type = PNG_COLOR_TYPE_PALETTE;
  spec.rows = std::string("\x1b", 1);  // indices 0 1 2 3
  spec.palette = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {0, 0, 0}};
  spec.palette_alpha = {0, 255, 255, 255};  // index 0 (red) fully transparent
  expect_same(decode_image(encode_raw_png(spec), "pal.png"),
              Image{4, 1, 3, {255, 255, 255, 0, 255, 0, 0, 0, 255, 0, 0, 0}});
}

// Quality 95 on a smooth gradient: every sample within 6 of the original (measured: at most 2).
TEST_F(ImageTest, JpegRgbDecodesCloseToOriginal) {
  const Image original = smooth(32, 24, 3);
  const Image decoded = decode_image(encode_jpeg(original, JCS_RGB), "smooth.jpg");
  EXPECT_EQ(decoded.width, 32);
  EXPECT_EQ(decoded.height, 24);
  EXPECT_EQ(decoded.channels, 3);
  EXPECT_LE(max_abs_diff(decoded, original), 6);
}

TEST_F(ImageTest, JpegGreyAndProgressiveDecodeCloseToOriginal) {
  const Image original_grey = smooth(20, 13, 1);
  const Image decoded_grey = decode_image(encode_jpeg(original_grey, JCS_GRAYSCALE), "g.jpg");
  EXPECT_EQ(decoded_grey.channels, 1);
  EXPECT_EQ(decoded_grey.width, 20);
  EXPECT_EQ(decoded_grey.height, 13);
  EXPECT_LE(max_abs_diff(decoded_grey, original_grey), 6);

  const Image original = smooth(33, 17, 3);
  const Image decoded = decode_image(encode_jpeg(original, JCS_RGB, true), "prog.jpg");
  EXPECT_EQ(decoded.channels, 3);
  EXPECT_EQ(decoded.width, 33);
  EXPECT_EQ(decoded.height, 17);
  EXPECT_LE(max_abs_diff(decoded, original), 6);
}

TEST_F(ImageTest, CmykJpegIsRejected) {
  const std::string cmyk = encode_jpeg(smooth(8, 8, 4), JCS_CMYK);
  EXPECT_EQ(error_of([&] { decode_image(cmyk, "ink.jpg"); }),
            "ink.jpg: unsupported JPEG colour space: expected grey or RGB/YCbCr, found CMYK");
}

TEST_F(ImageTest, FormatComesFromBytesNotName) {
  const Image original = pattern(3, 2, 3);
  expect_same(decode_image(encode_png(original), "really_a_png.jpg"), original);
}

// ---- damaged files ----

TEST_F(ImageTest, TruncatedPng) {
  const std::string bytes = encode_png(pattern(64, 64, 3));
  EXPECT_EQ(error_of([&] { decode_image(bytes.substr(0, bytes.size() / 2), "cut.png"); }),
            "cut.png: truncated or corrupt PNG: unexpected end of file");
}

TEST_F(ImageTest, TruncatedJpeg) {
  const std::string bytes = encode_jpeg(smooth(64, 64, 3), JCS_RGB);
  EXPECT_EQ(error_of([&] { decode_image(bytes.substr(0, bytes.size() / 2), "cut.jpg"); }),
            "cut.jpg: truncated or corrupt JPEG: Premature end of JPEG file");
}

// The check libpng and libjpeg leave to the caller: every cut of a file is an error, including a
// PNG that lacks only IEND and a JPEG that lacks only EOI.
TEST_F(ImageTest, EveryPrefixOfPngAndJpegIsRejected) {
  const std::string png = encode_png(pattern(16, 16, 3));
  for (size_t n = 1; n < png.size(); ++n) {
    const std::string message = error_of([&] { decode_image(png.substr(0, n), "p.png"); });
    ASSERT_TRUE(starts_with(message, "p.png: truncated or corrupt PNG: ")) << n << ": " << message;
  }
  const std::string jpeg = encode_jpeg(smooth(16, 16, 3), JCS_RGB, true);
  for (size_t n = 1; n < jpeg.size(); ++n) {
    const std::string message = error_of([&] { decode_image(jpeg.substr(0, n), "j.jpg"); });
    ASSERT_TRUE(starts_with(message, "j.jpg: truncated or corrupt JPEG: ")) << n << ": " << message;
  }
}

// libpng inflates a chunk's data before it reaches the chunk's CRC, so damage inside IDAT data
// is reported by zlib; damage to the CRC itself is reported as such.
TEST_F(ImageTest, FlippedByteInPngIdatIsCorrupt) {
  const std::string original = encode_png(pattern(16, 16, 1));
  const size_t data = idat_data_offset(original);
  std::string bytes = original;
  bytes[data + 5] ^= 0x01;
  EXPECT_TRUE(starts_with(error_of([&] { decode_image(bytes, "flip.png"); }),
                          "flip.png: truncated or corrupt PNG: IDAT: "))
      << error_of([&] { decode_image(bytes, "flip.png"); });

  const size_t length = (size_t(uint8_t(original[data - 6])) << 8) | uint8_t(original[data - 5]);
  ASSERT_EQ(original.substr(data - 8, 2), std::string(2, '\0'));  // IDAT under 64 KB
  bytes = original;
  bytes[data + length] ^= 0x01;  // first byte of the CRC after the data
  EXPECT_EQ(error_of([&] { decode_image(bytes, "flip.png"); }),
            "flip.png: truncated or corrupt PNG: IDAT: CRC error");
}

TEST_F(ImageTest, MarkerInsideJpegScanIsCorruptData) {
  std::string bytes = encode_jpeg(smooth(64, 64, 3), JCS_RGB);
  // An EOI marker in the middle of the entropy-coded data ends the scan early.
  bytes.replace(bytes.size() * 3 / 4, 2, "\xff\xd9");
  EXPECT_EQ(error_of([&] { decode_image(bytes, "m.jpg"); }),
            "m.jpg: truncated or corrupt JPEG: Corrupt JPEG data: premature end of data segment");
}

// A valid progressive script with one scan per AC coefficient, component and bit: 1 + 3 * 63 * 11
// = 2080 scans, each one more pass of the decoder. Stopped after 1000.
TEST_F(ImageTest, JpegWithTooManyScansIsRejected) {
  std::vector<jpeg_scan_info> scans = {{3, {0, 1, 2, 0}, 0, 0, 0, 0}};  // DC of all components
  for (int component = 0; component < 3; ++component) {
    for (int k = 1; k < 64; ++k) {
      scans.push_back({1, {component}, k, k, 0, 10});
      for (int bit = 10; bit > 0; --bit) scans.push_back({1, {component}, k, k, bit, bit - 1});
    }
  }
  ASSERT_EQ(scans.size(), 2080u);
  const std::string bomb = encode_jpeg(smooth(8, 8, 3), JCS_RGB, false, scans);
  EXPECT_EQ(error_of([&] { decode_image(bomb, "bomb.jpg"); }),
            "bomb.jpg: truncated or corrupt JPEG: more than 1000 progressive scans");
  scans.resize(1 + 63 * 11);  // the first component complete: 694 scans, under the limit
  const std::string many = encode_jpeg(smooth(8, 8, 3), JCS_RGB, false, scans);
  EXPECT_EQ(error_of([&] { decode_image(many, "many.jpg"); }), "no error");
}

// Random damage ends in an Error naming the file or, for JPEG, possibly in an image: JPEG has no
// checksums, so a changed width in the header can still decode. Under ASan this is the check that
// the error paths neither crash nor leak.
TEST_F(ImageTest, RandomlyDamagedFilesDecodeOrThrowError) {
  std::mt19937 rng(7);
  const std::vector<std::pair<std::string, std::string>> files = {
      {"d.png", encode_png(pattern(24, 16, 3))},
      {"d.jpg", encode_jpeg(smooth(24, 16, 3), JCS_RGB)},
      {"p.jpg", encode_jpeg(smooth(24, 16, 3), JCS_RGB, true)}};
  constexpr int kTrials = 300;
  for (const auto& [name, original] : files) {
    int rejected = 0;
    for (int trial = 0; trial < kTrials; ++trial) {
      std::string bytes = original;
      for (int flips = 0; flips < 3; ++flips) bytes[rng() % bytes.size()] ^= char(1 + rng() % 255);
      try {
        const Image image = decode_image(bytes, name);
        EXPECT_EQ(image.channels, 3);
        EXPECT_EQ(image.pixels.size(), size_t(image.width) * size_t(image.height) * 3u);
      } catch (const Error& e) {
        ++rejected;
        EXPECT_TRUE(starts_with(e.what(), name + ": ")) << e.what();
      }
    }
    // Every byte of this PNG (signature, IHDR, IDAT, IEND) is covered by a check or a CRC.
    if (name == "d.png") {
      EXPECT_EQ(rejected, kTrials);
    }
    EXPECT_GT(rejected, kTrials / 2) << name;
  }
}

// ---- wrong input and limits ----

TEST_F(ImageTest, NotAnImage) {
  EXPECT_EQ(error_of([&] { decode_image("GIF89a\x01\x00", "shoe.gif"); }),
            "shoe.gif: not a PNG or JPEG image (first bytes 47 49 46 38)");
  EXPECT_EQ(error_of([&] { decode_image(std::string("\xff\x00", 2), "two.bin"); }),
            "two.bin: not a PNG or JPEG image (first bytes ff 00)");
  const std::string path = write("shoe.jpg", "GIF89a");
  EXPECT_EQ(error_of([&] { read_image(path); }),
            path + ": not a PNG or JPEG image (first bytes 47 49 46 38)");
}

TEST_F(ImageTest, FileEndingInsideTheSignatureIsTruncated) {
  EXPECT_EQ(error_of([&] { decode_image("\x89PNG", "s.png"); }),
            "s.png: truncated or corrupt PNG: file ends in the signature");
  EXPECT_EQ(error_of([&] { decode_image("\xff\xd8", "s.jpg"); }),
            "s.jpg: truncated or corrupt JPEG: file ends in the signature");
}

TEST_F(ImageTest, EmptyFile) {
  const std::string path = write("empty.png", "");
  EXPECT_EQ(error_of([&] { read_image(path); }), path + ": empty file");
  EXPECT_EQ(error_of([&] { decode_image("", "shoe.png"); }), "shoe.png: empty file");
}

TEST_F(ImageTest, MissingFileAndFolder) {
  const std::string missing = dir_ + "/missing.png";
  EXPECT_EQ(error_of([&] { read_image(missing); }),
            missing + ": cannot open: No such file or directory");
  EXPECT_EQ(error_of([&] { read_image(dir_); }), dir_ + ": not a regular file");
}

TEST_F(ImageTest, OverMaxBytes) {
  const std::string bytes = encode_png(pattern(4, 4, 1));
  const std::string path = write("big.png", bytes);
  ImageLimits limits;
  limits.max_bytes = 10;
  const std::string over =
      ": file is " + std::to_string(bytes.size()) + " bytes, over the 10-byte limit";
  EXPECT_EQ(error_of([&] { read_image(path, limits); }), path + over);
  EXPECT_EQ(error_of([&] { decode_image(bytes, "big.png", limits); }), "big.png" + over);
  limits.max_bytes = int64_t(bytes.size());  // the cap itself is allowed
  EXPECT_EQ(read_image(path, limits).width, 4);
}

TEST_F(ImageTest, OverMaxPixels) {
  ImageLimits limits;
  limits.max_pixels = 14;
  const std::string png = encode_png(pattern(5, 3, 3));
  EXPECT_EQ(error_of([&] { decode_image(png, "wide.png", limits); }),
            "wide.png: 5 x 3 = 15 pixels, over the 14-pixel limit");
  const std::string jpeg = encode_jpeg(smooth(5, 3, 3), JCS_RGB);
  EXPECT_EQ(error_of([&] { decode_image(jpeg, "wide.jpg", limits); }),
            "wide.jpg: 5 x 3 = 15 pixels, over the 14-pixel limit");
  limits.max_pixels = 15;
  EXPECT_EQ(decode_image(png, "wide.png", limits).width, 5);
  EXPECT_EQ(decode_image(jpeg, "wide.jpg", limits).width, 5);
}

// The header alone decides: a PNG claiming 20000 x 20000 is refused before any pixel buffer.
TEST_F(ImageTest, HugeHeaderIsRefusedBeforeDecoding) {
  // libpng's own writer makes the signature and IHDR; a small PNG's chunks from IDAT on follow.
  std::string bytes;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  png_set_write_fn(png, &bytes, append_to_string, nullptr);
  png_set_IHDR(png, info, 20000, 20000, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  png_destroy_write_struct(&png, &info);
  const std::string small = encode_png(pattern(1, 1, 1));
  ASSERT_EQ(bytes.size(), 33u);  // 8-byte signature + 25-byte IHDR chunk
  bytes += small.substr(33);
  EXPECT_EQ(error_of([&] { decode_image(bytes, "shoe.png"); }),
            "shoe.png: 20000 x 20000 = 400000000 pixels, over the 40000000-pixel limit");
}

TEST_F(ImageTest, IsImage) {
  EXPECT_TRUE(is_image(encode_png(pattern(1, 1, 1))));
  EXPECT_TRUE(is_image(encode_jpeg(smooth(1, 1, 3), JCS_RGB)));
  EXPECT_TRUE(is_image(std::string("\xff\xd8\xff", 3)));
  EXPECT_FALSE(is_image("GIF89a"));
  EXPECT_FALSE(is_image(""));
  EXPECT_FALSE(is_image("\x89PNG"));  // only part of the 8-byte signature
  EXPECT_FALSE(is_image(std::string("\xff\xd8", 2)));
}

// ---- channels ----

TEST_F(ImageTest, RgbToGreyUsesRoundedBt601Luma) {
  const Image rgb{5, 1, 3, {255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0}};
  // 0.299 * 255 = 76.2, 0.587 * 255 = 149.7, 0.114 * 255 = 29.1
  expect_same(convert_channels(rgb, 1), grey(5, 1, {76, 150, 29, 255, 0}));
}

TEST_F(ImageTest, GreyToRgbReplicates) {
  expect_same(convert_channels(grey(2, 1, {7, 200}), 3), Image{2, 1, 3, {7, 7, 7, 200, 200, 200}});
  const Image same = pattern(3, 2, 3);
  expect_same(convert_channels(same, 3), same);
}

TEST_F(ImageTest, TransparentPixelDecodesToWhiteGrey) {
  RawPng spec;
  spec.width = 1;
  spec.height = 1;
  spec.color_type = PNG_COLOR_TYPE_RGB_ALPHA;
  spec.rows = std::string("\x00\x00\x00\x00", 4);
  const Image decoded = convert_channels(decode_image(encode_raw_png(spec), "t.png"), 1);
  expect_same(decoded, grey(1, 1, {255}));
}

TEST_F(ImageTest, ConvertChannelsRejectsBadCountsAndImages) {
  EXPECT_EQ(error_of([&] { convert_channels(pattern(2, 2, 3), 4); }),
            "convert_channels: expected 1 or 3 target channels, found 4");
  EXPECT_EQ(error_of([&] {
              convert_channels(Image{2, 2, 2, std::vector<uint8_t>(8)}, 1);
            }),
            "convert_channels: expected an image with 1 or 3 channels, found 2");
  EXPECT_EQ(error_of([&] {
              convert_channels(Image{2, 2, 3, std::vector<uint8_t>(5)}, 1);
            }),
            "convert_channels: a 2 x 2 x 3 image needs 12 bytes, found 5");
}

// ---- resizing ----

TEST_F(ImageTest, ResizeKeepsAConstantImageConstant) {
  const Image flat{7, 5, 3, std::vector<uint8_t>(7 * 5 * 3, 123)};
  for (const auto& [w, h] : std::vector<std::pair<int, int>>{{3, 2}, {11, 9}, {7, 5}, {2, 13}}) {
    const Image out = resize_image(flat, w, h);
    expect_same(out, Image{w, h, 3, std::vector<uint8_t>(size_t(w * h * 3), 123)});
  }
}

TEST_F(ImageTest, ShrinkAveragesAreas) {
  // Each 2x2 block averages to a whole number: (0+4+8+12)/4 = 6, (100+104+200+204)/4 = 152, ...
  const Image in = grey(4, 4,
                        {0, 4, 100, 104,    //
                         8, 12, 200, 204,   //
                         40, 40, 255, 255,  //
                         80, 80, 255, 251});
  expect_same(resize_image(in, 2, 2), grey(2, 2, {6, 152, 60, 254}));
  // Shrinking 3 -> 2 splits the middle pixel between both outputs: (2 * 30 + 90) / 3 = 50.
  expect_same(resize_image(grey(3, 1, {30, 90, 150}), 2, 1), grey(2, 1, {50, 130}));
}

TEST_F(ImageTest, EnlargeIsBilinearAndKeepsCorners) {
  const Image out = resize_image(grey(2, 2, {10, 200, 50, 90}), 4, 4);
  ASSERT_EQ(out.pixels.size(), 16u);
  EXPECT_EQ(out.pixels[0], 10);
  EXPECT_EQ(out.pixels[3], 200);
  EXPECT_EQ(out.pixels[12], 50);
  EXPECT_EQ(out.pixels[15], 90);
  // Output x = 1 samples source x = 0.25: 0.75 * 10 + 0.25 * 200 = 57.5, rounded half up.
  EXPECT_EQ(out.pixels[1], 58);
}

TEST_F(ImageTest, ResizeShapesAndErrors) {
  const Image out = resize_image(pattern(5, 3, 3), 2, 7);
  EXPECT_EQ(out.width, 2);
  EXPECT_EQ(out.height, 7);
  EXPECT_EQ(out.channels, 3);
  EXPECT_EQ(out.pixels.size(), 2u * 7u * 3u);
  expect_same(resize_image(pattern(5, 3, 1), 5, 3), pattern(5, 3, 1));
  EXPECT_EQ(error_of([&] { resize_image(pattern(2, 2, 1), 0, 3); }),
            "resize_image: expected a target size of at least 1 x 1, found 0 x 3");
  EXPECT_EQ(error_of([&] { resize_image(Image{}, 2, 2); }),
            "resize_image: expected an image with 1 or 3 channels, found 0");
}

TEST_F(ImageTest, EncodePngRejectsMalformedImage) {
  EXPECT_EQ(error_of([&] {
              encode_png(Image{0, 3, 1, {}});
            }),
            "encode_png: expected a non-empty image, found 0 x 3");
}

}  // namespace
}  // namespace deepcart::data
