// Text data contract: CSV/TSV/JSONL reading (joined text columns, counted empty rows with line
// numbers, label naming and order, exact error messages), the seeded stratified split and the
// fastText export, plus the real review files in ../shared/data/text.
#include "deepcart/text/text_data.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "deepcart/core/error.h"
#include "error_of.h"
#include "shared_data.h"
#include "temp_dir.h"

namespace deepcart::text {
namespace {

using Strings = std::vector<std::string>;
using Ids = std::vector<int64_t>;

using test::error_of;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The message read_text_set throws, or "no error".
std::string read_error(const std::string& path, const TextColumns& columns,
                       const std::vector<std::string>& label_names = {},
                       const std::string& group_col = "") {
  return error_of([&] { read_text_set(path, columns, label_names, group_col); });
}

class TextDataTest : public test_data::TempDirTest {};

// ---- CSV --------------------------------------------------------------------------------------

TEST_F(TextDataTest, JoinsTextColumnsAndCountsEmptyTexts) {
  const std::string path = write("reviews.csv",
                                 "id,Title,Review Text,Rating\n"
                                 "1,Great,Love it,5\n"
                                 "2,,\"Too small, sadly\",2\n"
                                 "3,\"  \",Runs large,3\n"
                                 "4,Nice,,4\n"
                                 "5,,,1\n"
                                 "6,\"\", \t,5\n");
  const TextSet set = read_text_set(path, TextColumns{{"Title", "Review Text"}, "Rating"});
  EXPECT_EQ(set.texts, (Strings{"Great\nLove it", "Too small, sadly", "Runs large", "Nice"}));
  EXPECT_EQ(set.label_names, (Strings{"2", "3", "4", "5"}));  // rows 5 and 6 are not kept
  EXPECT_EQ(set.labels, (Ids{3, 0, 1, 2}));
  EXPECT_EQ(set.size(), 4);
  EXPECT_TRUE(set.group.empty());
  EXPECT_EQ(set.report.rows, 6);
  EXPECT_EQ(set.report.kept, 4);
  EXPECT_EQ(set.report.empty_text, 2);
  EXPECT_EQ(set.report.empty_text_lines, (Ids{6, 7}));
  EXPECT_EQ(set.report.empty_label, 0);
  EXPECT_EQ(set.report.summary(), "6 rows, 4 kept, 2 empty texts (lines 6, 7)");
}

TEST_F(TextDataTest, EmptyLabelsAreCountedWithTheLineWhereTheRecordBegins) {
  const std::string path = write("labels.csv",
                                 "text,label\n"
                                 "\"first\nline\",a\n"
                                 "second,\n"
                                 "third,b\n"
                                 ",\n"
                                 "fourth,\" \"\n");
  const TextSet set = read_text_set(path, TextColumns{{"text"}, "label"});
  EXPECT_EQ(set.texts, (Strings{"first\nline", "third"}));
  EXPECT_EQ(set.labels, (Ids{0, 1}));
  EXPECT_EQ(set.report.empty_text_lines, (Ids{6}));  // empty text and label: counted as text
  EXPECT_EQ(set.report.empty_label_lines, (Ids{4, 7}));
  EXPECT_EQ(set.report.summary(),
            "5 rows, 2 kept, 1 empty text (line 6), 2 empty labels (lines 4, 7)");
}

TEST_F(TextDataTest, SummaryListsTheFirst20Lines) {
  std::string csv = "text,label\n";
  for (int i = 0; i < 25; ++i) csv += " ,x\n";
  csv += "kept,x\n";
  const TextSet set = read_text_set(write("many.csv", csv), TextColumns{{"text"}, "label"});
  EXPECT_EQ(set.report.empty_text, 25);
  EXPECT_EQ(set.report.empty_text_lines.size(), 20u);
  EXPECT_EQ(set.report.empty_text_lines.back(), 21);
  EXPECT_EQ(set.report.summary(),
            "26 rows, 1 kept, 25 empty texts (lines 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, "
            "15, 16, 17, 18, 19, 20, 21, ...)");
}

TEST_F(TextDataTest, IntegerLabelsSortNumerically) {
  const std::string path = write("stars.csv", "text,stars\na,10\nb,2\nc,1\nd,2\ne, 10 \n");
  const TextSet set = read_text_set(path, TextColumns{{"text"}, "stars"});
  EXPECT_EQ(set.label_names, (Strings{"1", "2", "10"}));
  EXPECT_EQ(set.labels, (Ids{2, 1, 0, 1, 2}));  // labels are trimmed: " 10 " is "10"
}

TEST_F(TextDataTest, OtherLabelsSortByBytes) {
  const std::string path = write("mixed.csv", "text,label\na,b\nb,a\nc,10\nd,9\n");
  const TextSet set = read_text_set(path, TextColumns{{"text"}, "label"});
  EXPECT_EQ(set.label_names, (Strings{"10", "9", "a", "b"}));
  EXPECT_EQ(set.labels, (Ids{3, 2, 0, 1}));
}

TEST_F(TextDataTest, FixedLabelNamesKeepTheirOrder) {
  const std::string path = write("fixed.csv", "text,label\ngood,pos\nbad,neg\n");
  const TextSet set = read_text_set(path, TextColumns{{"text"}, "label"}, {"pos", "neg"});
  EXPECT_EQ(set.label_names, (Strings{"pos", "neg"}));
  EXPECT_EQ(set.labels, (Ids{0, 1}));
}

TEST_F(TextDataTest, UnknownLabelNamesFileAndLine) {
  const std::string path = write("fixed.csv", "text,label\ngood,pos\nmeh,neutral\n");
  EXPECT_EQ(read_error(path, TextColumns{{"text"}, "label"}, {"neg", "pos"}),
            path +
                ":3:2 (column 'label'): label 'neutral' is not one of the 2 expected labels "
                "('neg', 'pos')");
}

TEST_F(TextDataTest, MissingColumnsListTheColumnsFound) {
  const std::string path = write("r.csv", "Title,Review Text,Rating\nA,b,5\n");
  EXPECT_EQ(read_error(path, TextColumns{{"Title", "Body"}, "Stars"}),
            path +
                ": missing columns 'Body', 'Stars' (the columns are 'Title', 'Review Text', "
                "'Rating')");
  EXPECT_EQ(read_error(path, TextColumns{{"Title"}, ""}, {}, "Shop"),
            path + ": missing column 'Shop' (the columns are 'Title', 'Review Text', 'Rating')");
  EXPECT_EQ(read_error(path, TextColumns{{}, "Rating"}),
            path + ": expected at least one text column, found none");
}

TEST_F(TextDataTest, BomTsvGroupAndUnlabelledInput) {
  const std::string path =
      write("shop.tsv", "\xef\xbb\xbftext\tshop\tlabel\n很舒服\tA\t1\nruns small\tB\t0\n");
  const TextSet set = read_text_set(path, TextColumns{{"text"}, ""}, {}, "shop");
  EXPECT_EQ(set.texts, (Strings{"很舒服", "runs small"}));
  EXPECT_TRUE(set.labels.empty());
  EXPECT_TRUE(set.label_names.empty());
  EXPECT_EQ(set.group, (Strings{"A", "B"}));
  EXPECT_EQ(set.report.summary(), "2 rows, 2 kept");
}

TEST_F(TextDataTest, CsvReaderErrorsPassThrough) {
  const std::string path = write("bad.csv", "text,label\nok,1\nbad \xff,1\n");
  EXPECT_EQ(read_error(path, TextColumns{{"text"}, "label"}),
            path +
                ":3:1 (column 'text'): invalid UTF-8: expected a valid byte sequence, found "
                "byte 0xff");
}

// ---- JSONL ------------------------------------------------------------------------------------

TEST_F(TextDataTest, JsonLinesWithNumbersNullsAndBlankLines) {
  const std::string path = write("reviews.jsonl",
                                 "\xef\xbb\xbf{\"text\": \"good\", \"label\": 1}\r\n"
                                 "{\"text\": \"bad\", \"label\": 0, \"extra\": [1, 2]}\n"
                                 "\n"
                                 "{\"text\": null, \"label\": 1}\n"
                                 "{\"text\": \"ok\", \"label\": \"\"}\n"
                                 "{\"text\": \"很好\", \"title\": \"Fine\", \"label\": 10}\n");
  const TextSet set = read_text_set(path, TextColumns{{"text"}, "label"});
  EXPECT_EQ(set.texts, (Strings{"good", "bad", "很好"}));
  EXPECT_EQ(set.label_names, (Strings{"0", "1", "10"}));
  EXPECT_EQ(set.labels, (Ids{1, 0, 2}));
  EXPECT_EQ(set.report.summary(), "5 rows, 3 kept, 1 empty text (line 4), 1 empty label (line 5)");
}

TEST_F(TextDataTest, NdjsonFloatAndBooleanLabelsAreTheirJsonText) {
  const std::string path = write("r.ndjson",
                                 "{\"a\": \"x\", \"b\": \"y\", \"l\": 1.5}\n"
                                 "{\"a\": \"\", \"b\": \"z\", \"l\": true}\n");
  const TextSet set = read_text_set(path, TextColumns{{"a", "b"}, "l"});
  EXPECT_EQ(set.texts, (Strings{"x\ny", "z"}));
  EXPECT_EQ(set.label_names, (Strings{"1.5", "true"}));
}

TEST_F(TextDataTest, JsonLinesErrorsNameTheLine) {
  const TextColumns cols{{"text"}, "label"};
  const std::string utf8 = write("u.jsonl",
                                 "{\"text\": \"a\", \"label\": 1}\n"
                                 "{\"text\": \"a\xff\", \"label\": 1}\n");
  EXPECT_EQ(read_error(utf8, cols),
            utf8 +
                ":2: invalid UTF-8 at byte 11 of the line: expected a valid byte sequence, "
                "found byte 0xff");
  const std::string array = write("a.jsonl", "{\"text\": \"a\", \"label\": 1}\n[1, 2]\n");
  EXPECT_EQ(read_error(array, cols), array + ":2: expected a JSON object, found array");
  const std::string broken = write("b.jsonl", "{\"text\": \n");
  EXPECT_EQ(read_error(broken, cols),
            broken +
                ":1: invalid JSON: parse error at line 1, column 10: syntax error while "
                "parsing value - unexpected end of input; expected '[', '{', or a literal");
  const std::string missing = write("m.jsonl", "{\"text\": \"a\", \"stars\": 1}\n");
  EXPECT_EQ(read_error(missing, cols),
            missing + ":1: missing field 'label' (the fields are 'stars', 'text')");
  const std::string nested = write("n.jsonl", "{\"text\": [\"a\"], \"label\": 1}\n");
  EXPECT_EQ(read_error(nested, cols),
            nested + ":1: field 'text': expected a string, number or null, found array");
  const std::string unknown = write("k.jsonl",
                                    "{\"text\": \"a\", \"label\": \"pos\"}\n"
                                    "{\"text\": \"b\", \"label\": \"meh\"}\n");
  EXPECT_EQ(read_error(unknown, cols, {"neg", "pos"}),
            unknown +
                ":2 (field 'label'): label 'meh' is not one of the 2 expected labels "
                "('neg', 'pos')");
  EXPECT_EQ(read_error(dir_ + "/none.jsonl", cols),
            dir_ + "/none.jsonl: cannot open: No such file or directory");
}

// ---- split ------------------------------------------------------------------------------------

Ids interleaved_labels() {  // 100 rows of label 0 and 50 of label 1
  Ids labels;
  for (int i = 0; i < 150; ++i) labels.push_back(i % 3 == 2 ? 1 : 0);
  return labels;
}

int64_t count_label(const Ids& rows, const Ids& labels, int64_t label) {
  return std::count_if(rows.begin(), rows.end(), [&](int64_t r) { return labels[r] == label; });
}

TEST(StratifiedSplitTest, KeepsPerLabelProportions) {
  const Ids labels = interleaved_labels();
  const TextSplit s = stratified_split(labels, 0.1, 0.2, 7);
  EXPECT_EQ(count_label(s.test, labels, 0), 20);
  EXPECT_EQ(count_label(s.test, labels, 1), 10);
  EXPECT_EQ(count_label(s.valid, labels, 0), 10);
  EXPECT_EQ(count_label(s.valid, labels, 1), 5);
  EXPECT_EQ(count_label(s.train, labels, 0), 70);
  EXPECT_EQ(count_label(s.train, labels, 1), 35);
}

TEST(StratifiedSplitTest, PartsAreSortedDisjointAndCoverEveryRow) {
  const TextSplit s = stratified_split(interleaved_labels(), 0.1, 0.2, 7);
  for (const Ids* part : {&s.train, &s.valid, &s.test}) {
    EXPECT_TRUE(std::is_sorted(part->begin(), part->end()));
  }
  Ids all = s.train;
  all.insert(all.end(), s.valid.begin(), s.valid.end());
  all.insert(all.end(), s.test.begin(), s.test.end());
  std::sort(all.begin(), all.end());
  Ids expected(150);
  for (int i = 0; i < 150; ++i) expected[i] = i;
  EXPECT_EQ(all, expected);
}

TEST(StratifiedSplitTest, DeterministicForASeed) {
  const Ids labels = interleaved_labels();
  const TextSplit a = stratified_split(labels, 0.1, 0.2, 42);
  const TextSplit b = stratified_split(labels, 0.1, 0.2, 42);
  const TextSplit c = stratified_split(labels, 0.1, 0.2, 43);
  EXPECT_EQ(a.train, b.train);
  EXPECT_EQ(a.valid, b.valid);
  EXPECT_EQ(a.test, b.test);
  EXPECT_NE(a.test, c.test);
  // Pinned: the shuffle uses only mt19937_64's output, so this holds with any standard library.
  const TextSplit p = stratified_split({0, 0, 0, 0, 0, 1, 1, 1, 1, 1}, 0.2, 0.4, 42);
  EXPECT_EQ(p.test, (Ids{2, 3, 7, 8}));
  EXPECT_EQ(p.valid, (Ids{4, 9}));
  EXPECT_EQ(p.train, (Ids{0, 1, 5, 6}));
}

TEST(DrawShotsTest, KeepsAtMostShotsOfEachLabelFromTheGivenRows) {
  const Ids labels = interleaved_labels();
  const TextSplit s = stratified_split(labels, 0.1, 0.2, 7);  // train: 70 of label 0, 35 of 1
  const Ids few = draw_shots(labels, s.train, 10, 42);
  EXPECT_EQ(count_label(few, labels, 0), 10);
  EXPECT_EQ(count_label(few, labels, 1), 10);
  EXPECT_TRUE(std::is_sorted(few.begin(), few.end()));
  for (int64_t row : few)
    EXPECT_TRUE(std::binary_search(s.train.begin(), s.train.end(), row)) << row;
  EXPECT_EQ(draw_shots(labels, s.train, 10, 42), few);
  EXPECT_NE(draw_shots(labels, s.train, 10, 43), few);
  // A label with fewer texts keeps them all.
  const Ids most = draw_shots(labels, s.train, 50, 42);
  EXPECT_EQ(count_label(most, labels, 0), 50);
  EXPECT_EQ(count_label(most, labels, 1), 35);
  // Pinned, like the split: the same rows with any standard library.
  EXPECT_EQ(draw_shots({0, 0, 0, 0, 1, 1, 1, 1}, {0, 1, 2, 3, 4, 5, 6, 7}, 2, 42),
            (Ids{0, 1, 4, 5}));
  EXPECT_EQ(error_of([&] { draw_shots(labels, s.train, 0, 42); }),
            "--shots: expected at least 1, found 0");
}

TEST(StratifiedSplitTest, ZeroFractionsAndRounding) {
  const TextSplit all = stratified_split({0, 1, 0, 1}, 0.0, 0.0, 1);
  EXPECT_EQ(all.train, (Ids{0, 1, 2, 3}));
  EXPECT_TRUE(all.valid.empty());
  EXPECT_TRUE(all.test.empty());
  // 3 rows x 0.5 = 1.5 rounds to 2 for test; valid gets what is left at most.
  const TextSplit r = stratified_split({5, 5, 5}, 0.5, 0.5, 1);
  EXPECT_EQ(r.test.size(), 2u);
  EXPECT_EQ(r.valid.size(), 1u);
  EXPECT_TRUE(r.train.empty());
  EXPECT_TRUE(stratified_split({}, 0.1, 0.1, 1).train.empty());
}

TEST(StratifiedSplitTest, BadArgumentsAreErrors) {
  EXPECT_EQ(error_of([] {
              stratified_split({0, 1}, 0.1, 1.5, 1);
            }),
            "stratified_split: expected test_fraction in [0, 1], found 1.500000");
  EXPECT_EQ(error_of([] {
              stratified_split({0, 1}, -0.1, 0.1, 1);
            }),
            "stratified_split: expected valid_fraction in [0, 1], found -0.100000");
  EXPECT_EQ(error_of([] {
              stratified_split({0, 1}, 0.6, 0.5, 1);
            }),
            "stratified_split: expected valid_fraction + test_fraction <= 1, found 1.100000");
  EXPECT_EQ(error_of([] {
              stratified_split({0, -1}, 0.1, 0.1, 1);
            }),
            "stratified_split: expected labels >= 0, found -1 at row 1");
}

// ---- label names ------------------------------------------------------------------------------

TEST_F(TextDataTest, LabelNamesFromPairsOrAFile) {
  const auto pairs = parse_label_names("0=not recommended,1=recommended");
  EXPECT_EQ(pairs,
            (std::map<std::string, std::string>{{"0", "not recommended"}, {"1", "recommended"}}));
  const std::string path = write("names.csv", "label,name\n1,one star\n5,\"five, the best\"\n");
  EXPECT_EQ(parse_label_names(path),
            (std::map<std::string, std::string>{{"1", "one star"}, {"5", "five, the best"}}));
  EXPECT_EQ(error_of([] { parse_label_names("0=no,1"); }),
            "--label-names: expected label=name pairs separated by commas (or a label,name CSV "
            "file), found '1'");
  EXPECT_EQ(error_of([] { parse_label_names("0=no,0=none"); }),
            "--label-names: label '0' given twice");
  EXPECT_EQ(error_of([] { parse_label_names("=no"); }),
            "--label-names: expected label=name with both non-empty");
  const std::string bad = write("bad.csv", "intent,answer\na,b\n");
  EXPECT_EQ(error_of([&] { parse_label_names(bad); }), bad + ": expected columns label,name");
}

// ---- fastText ---------------------------------------------------------------------------------

TEST_F(TextDataTest, WriteFasttextExactBytes) {
  const std::string path = dir_ + "/train.txt";
  write_fasttext(path, {{"great", "fit"}, {"too", " small", "a b", " "}, {}, {"很", "舒服"}},
                 {1, 0, 1, 0}, {"neg review", "pos"});
  EXPECT_EQ(read_file(path),
            "__label__pos great fit\n"
            "__label__neg_review too small a_b\n"
            "__label__pos\n"
            "__label__neg_review 很 舒服\n");
}

TEST_F(TextDataTest, WriteFasttextErrors) {
  const std::string path = dir_ + "/train.txt";
  EXPECT_EQ(error_of([&] {
              write_fasttext(path, {{"a"}}, {0, 1}, {"x", "y"});
            }),
            path + ": expected one label per row (1 rows), found 2 labels");
  EXPECT_EQ(error_of([&] {
              write_fasttext(path, {{"a"}, {"b"}}, {0, 2}, {"x", "y"});
            }),
            path + ": row 1: expected a label in [0, 2), found 2");
  EXPECT_EQ(error_of([&] { write_fasttext(path, {{"a"}}, {0}, {" "}); }),
            path + ": expected non-empty label names, found ' '");
  EXPECT_EQ(error_of([&] { write_fasttext(dir_ + "/no/such/dir.txt", {{"a"}}, {0}, {"x"}); }),
            dir_ + "/no/such/dir.txt: cannot write: No such file or directory");
}

// ---- real data --------------------------------------------------------------------------------

std::string text_dir() { return test_data::shared_data_dir() + "/text"; }

TEST(RealTextDataTest, WomensClothingReviews) {
  const std::string path = text_dir() + "/womens-clothing-reviews.csv";
  REQUIRE_SHARED_DATA(path);
  const TextSet set = read_text_set(path, TextColumns{{"Title", "Review Text"}, "Recommended IND"},
                                    {}, "Department Name");
  EXPECT_EQ(set.report.rows, 23486);
  EXPECT_EQ(set.report.empty_text, 844);  // 845 without a review, one of them has a title
  EXPECT_EQ(set.report.empty_label, 0);
  EXPECT_EQ(set.report.kept, 22642);
  EXPECT_EQ(set.report.empty_text_lines.front(), 114);
  EXPECT_EQ(set.label_names, (Strings{"0", "1"}));
  EXPECT_EQ(set.group.size(), set.texts.size());
  EXPECT_EQ(set.texts[0], "Absolutely wonderful - silky and sexy and comfortable");
  EXPECT_EQ(set.texts[2].substr(0, 45), "Some major design flaws\nI had such high hopes");
  EXPECT_EQ(std::count(set.labels.begin(), set.labels.end(), 1), 18541);  // checked with Python csv
}

TEST(RealTextDataTest, OnlineShoppingTenCategories) {
  const std::string path = text_dir() + "/online_shopping_10_cats.csv";
  REQUIRE_SHARED_DATA(path);
  const TextSet set = read_text_set(path, TextColumns{{"review"}, "label"}, {}, "cat");
  EXPECT_EQ(set.report.rows, 62774);
  EXPECT_EQ(set.report.summary(), "62774 rows, 62773 kept, 1 empty text (line 36427)");
  EXPECT_EQ(set.label_names, (Strings{"0", "1"}));
  EXPECT_EQ(set.group.front(), "书籍");
  const TextSplit split = stratified_split(set.labels, 0.1, 0.1, 1);
  EXPECT_EQ(split.train.size() + split.valid.size() + split.test.size(), 62773u);
}

}  // namespace
}  // namespace deepcart::text
