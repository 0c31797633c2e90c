#!/usr/bin/env python3
"""Lists functions longer than a limit (default 120 lines) in C++ files.

A heuristic, not a parser: a function body is a brace block opened at namespace or class level
on a line that closes a parameter list, or a lambda's body; comments and string literals are
skipped. Usage: scripts/long_functions.py [--max N] FILE...  Exit status 1 when any is found.
"""
import argparse
import re
import sys


def strip(text):
    """Removes comments, string and character literals (raw strings included), keeping lines."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("\n" * text.count("\n", i, j))
            i = j
        elif c == 'R' and text.startswith('R"', i) and (i == 0 or not (text[i-1].isalnum() or text[i-1] == '_')):
            m = re.match(r'R"([^(]*)\(', text[i:])
            end = text.find(")" + m.group(1) + '"', i)
            end = n if end < 0 else end + len(m.group(1)) + 2
            out.append('""' + "\n" * text.count("\n", i, end))
            i = end
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def long_functions(path, limit):
    lines = strip(open(path, encoding="utf-8").read()).split("\n")
    found, stack = [], []  # stack of (kind, start line, name)
    for number, line in enumerate(lines, 1):
        for pos, ch in enumerate(line):
            if ch == "{":
                head = line[:pos]
                scope_only = all(kind in ("namespace", "class") for kind, _, _ in stack)
                if re.search(r"\b(namespace)\b", head):
                    kind = "namespace"
                elif re.search(r"\b(class|struct|union|enum)\b", head) and ")" not in head:
                    kind = "class"
                elif scope_only and ")" in head or re.search(r"\]\s*(\([^)]*\))?[^{]*$", head) and "[" in head:
                    kind = "function"
                else:
                    kind = "block"
                stack.append((kind, number, head.strip()[:70]))
            elif ch == "}" and stack:
                kind, start, name = stack.pop()
                if kind == "function" and number - start + 1 > limit:
                    found.append((path, start, number - start + 1, name))
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max", type=int, default=120)
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    found = []
    for path in args.files:
        found += long_functions(path, args.max)
    for path, start, length, name in found:
        print(f"{path}:{start}: {length} lines: {name}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
