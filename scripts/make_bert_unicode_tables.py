#!/usr/bin/env python3
"""Writes src/deepcart/text/bert_unicode_tables.inc: the Unicode tables of the BERT WordPiece
tokenizer (src/deepcart/text/wordpiece.cpp).

The tokenizer must agree with Hugging Face's tokenizers library (Rust), which takes its
character data from places of different age:
  - The crate unicode_categories, built from Unicode 8.0: "other" (Cc Cf Co Cs, deleted by the
    normaliser), non-spacing marks (Mn, deleted when accents are stripped) and punctuation
    (Pc Pd Ps Pe Pi Pf Po, split off by the pre-tokenizer). A character assigned after 8.0 is
    in none of them: U+08E2 (Cf, 9.0) is kept, U+2E43 (Po, 9.0) does not split a word.
  - The crate unicode-normalization-alignments 0.1.12, of Unicode 9.0: NFD. The one later
    canonical decomposition in Unicode 14.0, U+11938 (13.0), is not applied.
  - Rust's standard library, of the current Unicode: whitespace (White_Space) and lowercase.
So each class is today's (Python 3.11's unicodedata, Unicode 14.0) limited to the code points
assigned by that version (Perl's Unicode::UCD, property Present_In; Python has no Age
property), and CATEGORY_8_0 below gives the Unicode 8.0 category of the few characters whose
category has changed since in a way that matters.

--check compares every assigned code point (private use sampled) with the installed tokenizers
library and fails on any difference; it found the CATEGORY_8_0 entries.

Tables written (code points, ranges sorted and merged):
  kBertControl          Cc Cf Co Cs of Unicode 8.0, less \\t \\n \\r (the normaliser counts
                        those as whitespace)
  kBertNonspacingMark   Mn of Unicode 8.0
  kBertPunctuation      Pc Pd Ps Pe Pi Pf Po of Unicode 8.0 (ASCII punctuation, which BERT also
                        splits on, is tested in C++)
  kBertWhitespace       Zs Zl Zp: White_Space less the control characters 9-D and 85, which the
                        normaliser has deleted or replaced before whitespace is looked at
  kBertDecomposition    full canonical decomposition (NFD) of each character assigned by 9.0
                        that has one, except the Hangul syllables, which the C++ code
                        decomposes by formula
  kBertLowercase        one-to-one lowercase mappings as runs {first, last, step, delta}: every
                        step-th code point from first to last maps to itself + delta
  kBertLowercaseLong    lowercase mappings to two code points (U+0130 only)

Run from the repository root with Python 3.11 (its unicodedata is Unicode 14.0) and Perl:
    .venv/bin/python3 scripts/make_bert_unicode_tables.py [--check]
and commit the .inc it writes.
"""
import pathlib
import string
import subprocess
import sys
import unicodedata

UNICODE_VERSION = "14.0.0"
CATEGORY_AGE = "8.0"  # the Unicode version of the crate unicode_categories
NFD_AGE = "9.0"  # the Unicode version of the crate unicode-normalization-alignments 0.1.12

# Characters assigned by 8.0 whose category then differs from today's (in a comment).
CATEGORY_8_0 = {
    0x166D: "Po",  # CANADIAN SYLLABICS CHI SIGN (So): still splits words
    0x1734: "Mn",  # HANUNOO SIGN PAMUDPOD (Mc): still deleted with the accents
    0x1885: "Lo",  # MONGOLIAN LETTER ALI GALI BALUDA (Mn): kept
    0x1886: "Lo",  # MONGOLIAN LETTER ALI GALI THREE BALUDA (Mn): kept
    0xA9BD: "Mc",  # JAVANESE CONSONANT SIGN KERET (Mn): kept
    0x111C9: "Po",  # SHARADA SANDHI MARK (Mn): splits words, is not deleted
}
OUT = pathlib.Path(__file__).resolve().parent.parent / "src/deepcart/text/bert_unicode_tables.inc"

CONTROL = {"Cc", "Cf", "Co", "Cs"}
PUNCTUATION = {"Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po"}
WHITESPACE = {"Zs", "Zl", "Zp"}
HANGUL_FIRST, HANGUL_LAST = 0xAC00, 0xD7A3
ALL = range(0x110000)


def assigned_by(version):
    """Code points assigned in Unicode `version` or earlier, as a set."""
    script = ('use Unicode::UCD qw(prop_invlist); '
              f'print join(" ", prop_invlist("Present_In={version}")), "\\n";')
    try:
        out = subprocess.run(["perl", "-e", script], check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as e:
        sys.exit(f"perl with Unicode::UCD is needed for the Present_In property: {e}")
    bounds = [int(x) for x in out.stdout.split()]
    if not bounds:
        sys.exit(f"perl returned no code points for Present_In={version}")
    bounds.append(0x110000)  # an inversion list of odd length runs to the end
    present = set()
    for start, stop in zip(bounds[0::2], bounds[1::2]):
        present.update(range(start, stop))
    return present


def categories_8_0():
    """The Unicode 8.0 category of each code point assigned by 8.0, as far as BERT cares."""
    old = assigned_by(CATEGORY_AGE)
    category = {c: unicodedata.category(chr(c)) for c in old}
    for c, cat in CATEGORY_8_0.items():
        if c not in old:
            sys.exit(f"U+{c:04X} in CATEGORY_8_0 is not assigned by {CATEGORY_AGE}")
        category[c] = cat
    return category


def ranges(code_points):
    out = []
    for c in sorted(code_points):
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


def lowercase_runs(mapping):
    """Groups one-to-one mappings into runs of equal delta and equal step (1 or 2)."""
    runs = []  # [first, last, step, delta]
    for c in sorted(mapping):
        delta = mapping[c] - c
        if runs:
            first, last, step, d = runs[-1]
            if d == delta and (c - last == step or (first == last and c - last == 2)):
                runs[-1][1], runs[-1][2] = c, c - last
                continue
        runs.append([c, c, 1, delta])
    return runs


def hex_cp(c):
    return f"0x{c:04X}"


def emit(lines, name, type_name, entries, per_line):
    lines.append(f"constexpr {type_name} {name}[] = {{")
    for i in range(0, len(entries), per_line):
        lines.append("    " + " ".join(e + "," for e in entries[i:i + per_line]))
    lines.append("};")
    lines.append("")


def compute_tables():
    category = categories_8_0()
    classes = {
        "control": {c for c, cat in category.items() if cat in CONTROL} - {9, 10, 13},
        "marks": {c for c, cat in category.items() if cat == "Mn"},
        "punctuation": {c for c, cat in category.items() if cat in PUNCTUATION},
        "whitespace": {c for c in ALL if unicodedata.category(chr(c)) in WHITESPACE},
    }

    decompositions = {}
    for c in sorted(assigned_by(NFD_AGE)):
        if HANGUL_FIRST <= c <= HANGUL_LAST:
            continue
        nfd = unicodedata.normalize("NFD", chr(c))
        if nfd != chr(c):
            if len(nfd) > 4:
                sys.exit(f"U+{c:04X} decomposes to {len(nfd)} code points, the table holds 4")
            decompositions[c] = [ord(x) for x in nfd]

    lower_one, lower_long = {}, {}
    for c in ALL:
        lower = chr(c).lower()
        if lower == chr(c):
            continue
        if len(lower) == 1:
            lower_one[c] = ord(lower)
        elif len(lower) == 2:
            lower_long[c] = [ord(x) for x in lower]
        else:
            sys.exit(f"U+{c:04X} lowercases to {len(lower)} code points, the table holds 2")
    return classes, decompositions, lower_one, lower_long


def write_inc(classes, decompositions, lower_one, lower_long):
    lines = [
        "// Generated by scripts/make_bert_unicode_tables.py from Python "
        f"{sys.version_info.major}.{sys.version_info.minor}'s unicodedata",
        f"// (Unicode {UNICODE_VERSION}) and Perl's Unicode::UCD (Present_In {CATEGORY_AGE} and "
        f"{NFD_AGE}). Do not edit:",
        "// rerun the script, which says what each table holds and why some stop at older "
        "Unicode.",
        "// Included by wordpiece.cpp, which defines CodeRange, Decomposition, LowercaseRun and",
        "// LowercaseLong.",
        "",
    ]
    to_range = lambda r: f"{{{hex_cp(r[0])}, {hex_cp(r[1])}}}"
    to_list = lambda cs: ", ".join(hex_cp(x) for x in cs)
    for name, key in [("kBertControl", "control"), ("kBertNonspacingMark", "marks"),
                      ("kBertPunctuation", "punctuation"), ("kBertWhitespace", "whitespace")]:
        emit(lines, name, "CodeRange", [to_range(r) for r in ranges(classes[key])], 4)
    emit(lines, "kBertDecomposition", "Decomposition",
         [f"{{{hex_cp(c)}, {{{to_list(d)}}}}}" for c, d in sorted(decompositions.items())], 3)
    emit(lines, "kBertLowercase", "LowercaseRun",
         [f"{{{hex_cp(a)}, {hex_cp(b)}, {s}, {d}}}" for a, b, s, d in lowercase_runs(lower_one)],
         3)
    emit(lines, "kBertLowercaseLong", "LowercaseLong",
         [f"{{{hex_cp(c)}, {{{to_list(d)}}}}}" for c, d in sorted(lower_long.items())], 3)
    OUT.write_text("\n".join(lines).rstrip("\n") + "\n", encoding="utf-8")
    print(f"wrote {OUT}: " + ", ".join(f"{len(v)} {k}" for k, v in classes.items()) +
          f", {len(decompositions)} decompositions, "
          f"{len(lower_one) + len(lower_long)} lowercase mappings")


def check_against_tokenizers(classes, decompositions, lower_one, lower_long):
    """What the tables predict for each code point against the tokenizers library's answer."""
    from tokenizers import normalizers, pre_tokenizers

    def bert_normalizer(clean=False, strip=False, lower=False):
        return normalizers.BertNormalizer(clean_text=clean, handle_chinese_chars=False,
                                          strip_accents=strip, lowercase=lower)

    clean, strip, lower = (bert_normalizer(clean=True), bert_normalizer(strip=True),
                           bert_normalizer(lower=True))
    pre = pre_tokenizers.BertPreTokenizer()
    ascii_punctuation = {c for c in range(128) if chr(c) in string.punctuation}
    split_on = classes["whitespace"] | {9, 10, 11, 12, 13, 0x85}  # Rust's char::is_whitespace

    def nfd(c):
        if HANGUL_FIRST <= c <= HANGUL_LAST:
            return unicodedata.normalize("NFD", chr(c))
        return "".join(map(chr, decompositions.get(c, [c])))

    differences = 0
    for c in ALL:
        cat = unicodedata.category(chr(c))
        if cat in ("Cn", "Cs") or (cat == "Co" and c % 4096 != 0):
            continue
        ch = chr(c)
        if c in (0, 0xFFFD) or c in classes["control"]:
            want_clean = "ab"
        elif c in classes["whitespace"] or c in (9, 10, 13):
            want_clean = "a b"
        else:
            want_clean = f"a{ch}b"
        want_pieces = (3 if c in classes["punctuation"] | ascii_punctuation
                       else 2 if c in split_on else 1)
        checks = [
            ("clean text", clean.normalize_str(f"a{ch}b"), want_clean),
            ("strip accents", strip.normalize_str(ch),
             "".join(x for x in nfd(c) if ord(x) not in classes["marks"])),
            ("lowercase", lower.normalize_str(ch),
             "".join(map(chr, lower_long.get(c, [lower_one.get(c, c)])))),
            ("pre-tokenize", len(pre.pre_tokenize_str(f"a{ch}b")), want_pieces),
        ]
        for what, got, want in checks:
            if got != want:
                differences += 1
                print(f"U+{c:04X} {unicodedata.name(ch, '?')} ({cat}): {what} gives {got!r} "
                      f"in tokenizers, {want!r} from the tables")
    if differences:
        sys.exit(f"{differences} differences from tokenizers")
    print("every assigned code point agrees with tokenizers")


def main():
    if unicodedata.unidata_version != UNICODE_VERSION:
        sys.exit(f"unicodedata is Unicode {unicodedata.unidata_version}, expected "
                 f"{UNICODE_VERSION} (run with Python 3.11)")
    tables = compute_tables()
    write_inc(*tables)
    if "--check" in sys.argv[1:]:
        check_against_tokenizers(*tables)


if __name__ == "__main__":
    main()
