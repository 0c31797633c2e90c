// CsvReader contract: RFC 4180 quoting, line ends, BOM, UTF-8 checks, and the exact error
// messages a user sees for each kind of broken file.
#include "deepcart/data/csv_reader.h"

#include <gtest/gtest.h>

#include <stdlib.h>
#include "temp_dir.h"

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>
#include "error_of.h"

namespace deepcart::data {
namespace {

using Fields = std::vector<std::string>;

class CsvReaderTest : public ::deepcart::test_data::TempDirTest {
 protected:
  // Every data record of a file, or the first error message as a one-element list "ERROR: ...".
  static std::vector<Fields> read_all(const std::string& path, CsvOptions options = {}) {
    CsvReader reader(path, options);
    std::vector<Fields> records;
    Fields fields;
    while (reader.next(fields)) records.push_back(fields);
    return records;
  }

  static std::string error_of(const std::string& path, CsvOptions options = {}) {
    return test::error_of([&] { read_all(path, options); });
  }
};

TEST_F(CsvReaderTest, ReadsHeaderAndRecords) {
  const std::string path = write("a.csv", "id,name,price\n1,shoe,9.5\n2,hat,3\n");
  CsvReader reader(path);
  EXPECT_EQ(reader.header(), (Fields{"id", "name", "price"}));
  EXPECT_EQ(reader.column_index("price"), 2);
  EXPECT_EQ(reader.column_index("nope"), -1);
  EXPECT_EQ(reader.num_columns(), 3);
  Fields fields;
  ASSERT_TRUE(reader.next(fields));
  EXPECT_EQ(fields, (Fields{"1", "shoe", "9.5"}));
  EXPECT_EQ(reader.record_line(), 2);
  ASSERT_TRUE(reader.next(fields));
  EXPECT_EQ(fields, (Fields{"2", "hat", "3"}));
  EXPECT_EQ(reader.record_line(), 3);
  EXPECT_FALSE(reader.next(fields));
  EXPECT_EQ(reader.records_read(), 2);
  EXPECT_EQ(reader.path(), path);
}

TEST_F(CsvReaderTest, QuotedFieldKeepsDelimiters) {
  const auto records = read_all(write("a.csv", "a,b\n\"x, y, z\",\"\"\n"));
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0], (Fields{"x, y, z", ""}));
}

TEST_F(CsvReaderTest, DoubledQuotesBecomeOneQuote) {
  const auto records = read_all(write("a.csv", "a,b\n\"am 5'8\"\".\",\"\"\"\"\n"));
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0], (Fields{"am 5'8\".", "\""}));
}

TEST_F(CsvReaderTest, QuoteInsideUnquotedFieldIsData) {
  const auto records = read_all(write("a.csv", "a,b\nam 5'8\",x\n"));
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0], (Fields{"am 5'8\"", "x"}));
}

TEST_F(CsvReaderTest, EmbeddedLfInsideQuotesAndLineNumbers) {
  CsvReader reader(write("a.csv", "a,b\n\"line 1\nline 2\n\",x\ny,z\n"));
  Fields fields;
  ASSERT_TRUE(reader.next(fields));
  EXPECT_EQ(fields, (Fields{"line 1\nline 2\n", "x"}));
  EXPECT_EQ(reader.record_line(), 2);
  ASSERT_TRUE(reader.next(fields));
  EXPECT_EQ(fields, (Fields{"y", "z"}));
  EXPECT_EQ(reader.record_line(), 5);
  EXPECT_FALSE(reader.next(fields));
}

TEST_F(CsvReaderTest, EmbeddedCrlfInsideQuotesIsKept) {
  CsvReader reader(write("a.csv", "a,b\r\n\"one\r\ntwo\",x\r\ny,z\r\n"));
  Fields fields;
  ASSERT_TRUE(reader.next(fields));
  EXPECT_EQ(fields, (Fields{"one\r\ntwo", "x"}));
  ASSERT_TRUE(reader.next(fields));
  EXPECT_EQ(fields, (Fields{"y", "z"}));
  EXPECT_EQ(reader.record_line(), 4);
}

TEST_F(CsvReaderTest, CrlfLineEnds) {
  CsvReader reader(write("a.csv", "a,b\r\n1,2\r\n\"3\",\"4\"\r\n"));
  EXPECT_EQ(reader.header(), (Fields{"a", "b"}));
  Fields fields;
  ASSERT_TRUE(reader.next(fields));
  EXPECT_EQ(fields, (Fields{"1", "2"}));
  ASSERT_TRUE(reader.next(fields));
  EXPECT_EQ(fields, (Fields{"3", "4"}));
  EXPECT_FALSE(reader.next(fields));
}

TEST_F(CsvReaderTest, LoneCarriageReturnIsData) {
  const auto records = read_all(write("a.csv", "a,b\n1\r2,3\n"));
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0], (Fields{"1\r2", "3"}));
}

TEST_F(CsvReaderTest, StripsLeadingBomOnly) {
  CsvReader reader(write("a.csv",
                         "\xef\xbb\xbf"
                         "flags,text\nB,\xef\xbb\xbfhi\n"));
  EXPECT_EQ(reader.header(), (Fields{"flags", "text"}));
  EXPECT_EQ(reader.column_index("flags"), 0);
  Fields fields;
  ASSERT_TRUE(reader.next(fields));
  EXPECT_EQ(fields, (Fields{"B", "\xef\xbb\xbfhi"}));  // a stray BOM is valid UTF-8 data
}

TEST_F(CsvReaderTest, GuessesTabFromTsvExtension) {
  const auto records = read_all(write("a.TSV", "a\tb\nx,y\t\"q\tr\"\n"));
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0], (Fields{"x,y", "q\tr"}));
}

TEST_F(CsvReaderTest, ExplicitDelimiterWins) {
  CsvOptions options;
  options.delimiter = ';';
  const auto records = read_all(write("a.tsv", "a;b\n1,5;2\n"), options);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0], (Fields{"1,5", "2"}));
}

TEST_F(CsvReaderTest, TrailingNewlineMakesNoEmptyRecord) {
  EXPECT_EQ(read_all(write("a.csv", "a,b\n1,2\n")).size(), 1u);
  const auto records = read_all(write("b.csv", "a,b\n1,2"));
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0], (Fields{"1", "2"}));
}

TEST_F(CsvReaderTest, EmptyFieldsAtLineEnds) {
  const auto records = read_all(write("a.csv", "a,b,c\n,,\n1,,\n,,\"\""));
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0], (Fields{"", "", ""}));
  EXPECT_EQ(records[1], (Fields{"1", "", ""}));
  EXPECT_EQ(records[2], (Fields{"", "", ""}));
}

TEST_F(CsvReaderTest, SkipsBlankLinesButCountsThem) {
  CsvReader reader(write("a.csv", "\na,b\n\n1,2\r\n\r\n\n3,4\n\n"));
  EXPECT_EQ(reader.header(), (Fields{"a", "b"}));
  Fields fields;
  ASSERT_TRUE(reader.next(fields));
  EXPECT_EQ(reader.record_line(), 4);
  ASSERT_TRUE(reader.next(fields));
  EXPECT_EQ(fields, (Fields{"3", "4"}));
  EXPECT_EQ(reader.record_line(), 7);
  EXPECT_FALSE(reader.next(fields));
  EXPECT_EQ(reader.records_read(), 2);
}

TEST_F(CsvReaderTest, OneColumnFileSpellsEmptyValueAsQuotes) {
  const auto records = read_all(write("a.csv", "a\nx\n\"\"\n\ny\n"));
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[1], (Fields{""}));
}

TEST_F(CsvReaderTest, WithoutHeaderFirstRecordFixesFieldCount) {
  CsvOptions options;
  options.has_header = false;
  const std::string path = write("a.csv", "1,2\n3,4\n5\n");
  CsvReader reader(path, options);
  EXPECT_TRUE(reader.header().empty());
  Fields fields;
  ASSERT_TRUE(reader.next(fields));
  EXPECT_EQ(fields, (Fields{"1", "2"}));
  ASSERT_TRUE(reader.next(fields));
  try {
    reader.next(fields);
    FAIL() << "expected a field count error";
  } catch (const RecordError& e) {
    EXPECT_EQ(std::string(e.what()),
              path + ":3: expected 2 fields (as in the first record), found 1");
  }
  EXPECT_TRUE(read_all(write("empty.csv", ""), options).empty());
}

TEST_F(CsvReaderTest, ReusesFieldStrings) {
  CsvReader reader(write("a.csv", "a,b,c\n1,2,3\n4,5\n"));
  Fields fields = {"stale", "x"};
  ASSERT_TRUE(reader.next(fields));
  EXPECT_EQ(fields, (Fields{"1", "2", "3"}));
  EXPECT_THROW(reader.next(fields), RecordError);
  EXPECT_EQ(fields, (Fields{"4", "5"}));
}

// Random records with every awkward byte, read with tiny buffers so that quotes, CR and LF land
// on every chunk boundary.
TEST_F(CsvReaderTest, ChunkBoundariesDoNotChangeRecords) {
  std::mt19937 rng(7);
  const std::string alphabet = "ab,\"\r\n \xc3\xa9";
  std::vector<Fields> expected;
  std::string text = "x,y,z\n";
  for (int r = 0; r < 300; ++r) {
    Fields record;
    for (int c = 0; c < 3; ++c) {
      std::string value;
      const int length = rng() % 6;
      for (int i = 0; i < length; ++i) {
        const size_t pick = rng() % alphabet.size();
        if (alphabet[pick] == '\xc3') {
          value += "\xc3\xa9";
        } else if (alphabet[pick] != '\xa9') {
          value += alphabet[pick];
        }
      }
      record.push_back(value);
      std::string quoted = "\"";
      for (char ch : value) quoted += ch == '"' ? std::string("\"\"") : std::string(1, ch);
      text += (c > 0 ? "," : "") + quoted + "\"";
    }
    text += r % 2 ? "\r\n" : "\n";
    expected.push_back(record);
  }
  const std::string path = write("fuzz.csv", text);
  for (size_t buffer : {4, 5, 7, 64, 1 << 18}) {
    CsvOptions options;
    options.buffer_bytes = buffer;
    EXPECT_EQ(read_all(path, options), expected) << "buffer " << buffer;
  }
}

TEST_F(CsvReaderTest, ErrorWrongFieldCount) {
  const std::string path = write("a.csv", "a,b,c\n1,2,3\n\"x\ny\",2\n");
  EXPECT_EQ(error_of(path), path + ":3: expected 3 fields (as in the header), found 2");
}

TEST_F(CsvReaderTest, ErrorUnterminatedQuote) {
  const std::string path = write("a.csv", "a,b\n1,2\n3,\"never\nclosed,4\n");
  EXPECT_EQ(error_of(path), path +
                                ":3:2 (column 'b'): unterminated quoted field: expected a "
                                "closing '\"' before end of file");
}

TEST_F(CsvReaderTest, ErrorUnterminatedQuoteIsNotARecordError) {
  CsvReader reader(write("a.csv", "a\n\"x\n"));
  Fields fields;
  try {
    reader.next(fields);
    FAIL() << "expected an error";
  } catch (const RecordError&) {
    FAIL() << "an unterminated quote must not be skippable";
  } catch (const Error&) {
  }
}

TEST_F(CsvReaderTest, ErrorCharacterAfterClosingQuote) {
  const std::string path = write("a.csv", "a,b\n\"ok\"x,2\n");
  EXPECT_EQ(error_of(path),
            path + ":2:1 (column 'a'): expected ',' or end of line after closing quote, found 'x'");
  const std::string tsv = write("a.tsv", "a\tb\n1\t\"q\"\"\" z\n");
  EXPECT_EQ(
      error_of(tsv),
      tsv + ":2:2 (column 'b'): expected '\\t' or end of line after closing quote, found ' '");
}

TEST_F(CsvReaderTest, ReadingContinuesAfterRecordError) {
  CsvReader reader(write("a.csv", "a,b\n\"bad\"x,\"still\nin record\"\n1,2\n"));
  Fields fields;
  EXPECT_THROW(reader.next(fields), RecordError);
  ASSERT_TRUE(reader.next(fields));
  EXPECT_EQ(fields, (Fields{"1", "2"}));
  EXPECT_EQ(reader.record_line(), 4);
  EXPECT_EQ(reader.records_read(), 2);
}

TEST_F(CsvReaderTest, ErrorInvalidUtf8) {
  const std::string path = write("a.csv", "id,name\n1,\"caf\xc3\xa9\"\n2,\"two\nlines \xff\"\n");
  EXPECT_EQ(error_of(path), path +
                                ":4:2 (column 'name'): invalid UTF-8: expected a valid byte "
                                "sequence, found byte 0xff");
}

TEST_F(CsvReaderTest, ErrorInvalidUtf8Sequences) {
  // Overlong '/', a UTF-16 surrogate, above U+10FFFF, a truncated sequence, a lone continuation.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"\xc0\xaf", "0xc0"},   {"\xed\xa0\x80", "0xed"}, {"\xf4\x90\x80\x80", "0xf4"},
      {"ab\xe4\xb9", "0xe4"}, {"\x80", "0x80"},         {"\xe0\x80\x80", "0xe0"},
  };
  for (const auto& [bytes, byte] : cases) {
    const std::string path = write("u.csv", "a\n" + bytes + "\n");
    EXPECT_EQ(error_of(path), path +
                                  ":2:1 (column 'a'): invalid UTF-8: expected a valid byte "
                                  "sequence, found byte " +
                                  byte);
  }
  // Longest valid forms of each length, plus the BOM, pass.
  EXPECT_EQ(
      read_all(write("ok.csv", "a\n\x7f\xdf\xbf\xef\xbf\xbf\xf4\x8f\xbf\xbf\xef\xbb\xbf\n")).size(),
      1u);
}

TEST_F(CsvReaderTest, ErrorInvalidUtf8InHeaderHasNoColumnName) {
  const std::string path = write("a.csv", "a,b\xfe\n1,2\n");
  EXPECT_EQ(error_of(path),
            path + ":1:2: invalid UTF-8: expected a valid byte sequence, found byte 0xfe");
}

TEST_F(CsvReaderTest, ErrorEmptyFile) {
  const std::string path = write("a.csv", "");
  EXPECT_EQ(error_of(path), path + ": empty file: expected a header line, found nothing");
  const std::string blank = write("b.csv", "\xef\xbb\xbf\n\r\n");
  EXPECT_EQ(error_of(blank), blank + ": empty file: expected a header line, found nothing");
}

// gzip (Debian's essential package) compresses a written file; returns the .gz path.
std::string gzip(const std::string& path) {
  EXPECT_EQ(std::system(("gzip -n -f '" + path + "'").c_str()), 0);
  return path + ".gz";
}

TEST_F(CsvReaderTest, ReadsGzipCompressedFilesLikePlainOnes) {
  const std::string text =
      "\xef\xbb\xbf"
      "a,b\n\"x\ny\",2\n3,4\n";
  const auto plain = read_all(write("p.csv", text));
  const auto packed = read_all(gzip(write("z.csv", text)), CsvOptions{.buffer_bytes = 5});
  ASSERT_EQ(plain.size(), 2u);
  EXPECT_EQ(packed, plain);
  // The tab is still guessed from the name under the .gz.
  const auto tsv = read_all(gzip(write("t.tsv", "a\tb\n1,5\t2\n")));
  ASSERT_EQ(tsv.size(), 1u);
  EXPECT_EQ(tsv[0], (Fields{"1,5", "2"}));
}

TEST_F(CsvReaderTest, ErrorCorruptGzip) {
  const std::string path = gzip(write("c.csv", "a,b\n" + std::string(5000, 'x') + ",1\n"));
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  bytes[bytes.size() / 2] ^= 0x55;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  const std::string e = error_of(path);
  EXPECT_EQ(e.rfind(path + ": corrupt gzip data: ", 0), 0u) << e;
}

TEST_F(CsvReaderTest, ErrorCannotOpen) {
  const std::string path = dir_ + "/missing.csv";
  EXPECT_EQ(error_of(path), path + ": cannot open: No such file or directory");
}

TEST_F(CsvReaderTest, ErrorFieldTooLarge) {
  CsvOptions options;
  options.max_field_bytes = 8;
  options.buffer_bytes = 4;
  const std::string path = write("a.csv", "a,b\n12345678,x\n1,\"123456789\"\n3,4\n");
  CsvReader reader(path, options);
  Fields fields;
  ASSERT_TRUE(reader.next(fields));
  EXPECT_EQ(fields[0], "12345678");
  try {
    reader.next(fields);
    FAIL() << "expected a size error";
  } catch (const RecordError& e) {
    EXPECT_EQ(std::string(e.what()), path + ":3:2 (column 'b'): field longer than 8 bytes");
  }
  ASSERT_TRUE(reader.next(fields));
  EXPECT_EQ(fields, (Fields{"3", "4"}));
}

}  // namespace
}  // namespace deepcart::data

namespace deepcart::data {
namespace {

class CsvHostileInput : public ::deepcart::test_data::TempDirTest {};

TEST_F(CsvHostileInput, DuplicateHeaderNamesAreRefused) {
  const std::string path = write("dup.csv", "user_id,item_id,user_id\n1,2,3\n");
  try {
    CsvReader reader(path);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), path +
                                         ":1: column name 'user_id' appears twice in the header "
                                         "(columns 1 and 3): expected distinct names");
  }
}

TEST_F(CsvHostileInput, AnUnnamedColumnCannotBeChosen) {
  // Spreadsheet exports (the clothing reviews among them) start with an unnamed index column.
  const std::string path = write("unnamed.csv", ",text,label\n0,nice,1\n");
  CsvReader reader(path);
  EXPECT_EQ(reader.column_index("text"), 1);
  try {
    reader.column_index("");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), path +
                                         ": expected a column name, found an empty one (an unnamed "
                                         "column in the header cannot be chosen)");
  }
  EXPECT_EQ(reader.location(2, 1), path + ":2:1 (unnamed column)");
}

TEST_F(CsvHostileInput, ANulByteIsABadRecordAndReadingGoesOn) {
  const std::string path = write("nul.csv", std::string("id,name\nu\0001,x\nu2,y\n", 19));
  CsvReader reader(path);
  std::vector<std::string> fields;
  try {
    reader.next(fields);
    FAIL();
  } catch (const RecordError& e) {
    EXPECT_EQ(std::string(e.what()),
              path + ":2:1 (column 'id'): expected text, found a NUL byte (0x00)");
  }
  ASSERT_TRUE(reader.next(fields));
  EXPECT_EQ(fields, (std::vector<std::string>{"u2", "y"}));
}

}  // namespace
}  // namespace deepcart::data
