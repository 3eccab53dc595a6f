#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Check the operator runbooks against the real command lines.

Every `sluice-*` command in the shell blocks (```sh, ```bash, ```shell) and in the inline
code spans of the given Markdown files must name a verb the binary has (`BIN VERB --help`
exits 0, sub-verbs such as `devices approve` appear in the verb's usage) and only long
options that the verb's or the program's --help lists. Prints one line per mismatch
(FILE:LINE: command: problem) and exits 1 when there is any, 0 otherwise.

usage: check-runbooks.py --bin NAME=PATH ... [--report FILE] [--expect N] DOC.md ...
(--expect N: the self-test on planted.md, whose mistakes must all be found)
"""

import argparse
import os
import re
import shlex
import subprocess
import sys

FENCE_RE = re.compile(r"^\s*```\s*([A-Za-z0-9_+-]*)\s*$")
SHELL_LANGS = {"sh", "bash", "shell", "console"}
INLINE_RE = re.compile(r"`(sluice-[a-z]+(?: [^`]*)?)`")
ENV_ASSIGN_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
PLACEHOLDER_RE = re.compile(r"^[A-Z][A-Z0-9_-]*$")  # VERB, ID, DEVICE-ID
WORD_RE = re.compile(r"^[a-z][a-z0-9-]*$")


def shell_commands(path):
    """Yield (line number, command text) of every sluice-* command in path."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    in_block, lang, pending, pending_line = False, "", "", 0
    for no, line in enumerate(lines, 1):
        m = FENCE_RE.match(line)
        if m:
            if in_block:
                in_block = False
            else:
                in_block, lang = True, m.group(1).lower()
            continue
        if in_block:
            if lang not in SHELL_LANGS:
                continue
            text = line.split(" #", 1)[0] if not line.lstrip().startswith("#") else ""
            if pending:
                pending += " " + text.strip()
            else:
                pending, pending_line = text.strip(), no
            if pending.endswith("\\"):
                pending = pending[:-1].rstrip()
                continue
            for part in re.split(r"&&|\|\||;|\|(?=\s)", pending):
                cmd = part.strip()
                words = cmd.split()
                while words and ENV_ASSIGN_RE.match(words[0]):
                    words.pop(0)
                if words and words[0].startswith("sluice-"):
                    yield pending_line, "block", " ".join(words)
            pending = ""
        else:
            for m in INLINE_RE.finditer(line):
                yield no, "inline", m.group(1)


def tokens_of(cmd):
    """Split a command, dropping the [ ] of optional parts; None when it cannot be split."""
    try:
        toks = shlex.split(cmd.replace("[", " ").replace("]", " "))
    except ValueError:
        return None
    return [t for t in toks if t]


class Binary:
    """The --help texts of one program, asked once each."""

    def __init__(self, name, path):
        self.name, self.path, self.cache = name, path, {}

    def help(self, verb):
        key = tuple(verb)
        if key not in self.cache:
            env = dict(os.environ, LC_ALL="C")
            p = subprocess.run([self.path, *verb, "--help"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, timeout=30, env=env,
                               stdin=subprocess.DEVNULL)
            self.cache[key] = (p.returncode, p.stdout + p.stderr)
        return self.cache[key]


def has_option(text, opt):
    return re.search(r"(?<![\w-])" + re.escape(opt) + r"(?![\w-])", text) is not None


def option_takes_value(text, opt):
    return re.search(r"(?<![\w-])" + re.escape(opt) + r"[ =][A-Z]", text) is not None


def find_verb(binary, toks):
    """Return (verb words, index after them, problem or None)."""
    top_rc, top = binary.help([])
    i = 0
    # options before the verb (sluice-tuf --metadata-dir DIR init, sluice-agent --config F)
    while i < len(toks) and toks[i].startswith("-"):
        opt = toks[i].split("=", 1)[0]
        i += 1
        if "=" not in toks[i - 1] and option_takes_value(top, opt) and i < len(toks):
            i += 1
    if i >= len(toks):
        return [], i, None
    first = toks[i]
    if PLACEHOLDER_RE.match(first):
        return None, i + 1, None  # `sluice-ceremony VERB --help`: nothing to check
    if not WORD_RE.match(first):
        return None, i + 1, f"'{first}' is not a verb"
    rc1, _ = binary.help([first])
    if i + 1 < len(toks) and WORD_RE.match(toks[i + 1]):
        rc2, _ = binary.help([first, toks[i + 1]])
        if rc1 != 0 and rc2 == 0:
            return [first, toks[i + 1]], i + 2, None
    if rc1 != 0:
        return None, i + 1, f"unknown verb '{first}' ({binary.name} {first} --help exits {rc1})"
    return [first], i + 1, None


def check_subverbs(binary, verb, toks, start, verb_help):
    """Sub-verbs such as `devices approve`, `rollout pause|resume`: must be in the usage."""
    usage_sub = re.search(re.escape(verb[-1]) + r"(?: \[[^\]]*\])* [a-z]", verb_help)
    if not usage_sub or start >= len(toks):
        return None
    word = toks[start]
    for alt in word.split("|"):
        if WORD_RE.match(alt) and not has_option(verb_help, alt):
            return f"sub-verb '{alt}' is not in '{binary.name} {' '.join(verb)} --help'"
    return None


def check_command(binaries, cmd):
    toks = tokens_of(cmd)
    if toks is None:
        return [f"cannot parse the command line: {cmd}"]
    binary = binaries.get(toks[0])
    if binary is None:
        return [f"no binary '{toks[0]}' was given to the check"]
    toks = toks[1:]
    verb, start, problem = find_verb(binary, toks)
    if problem:
        return [problem]
    _, top = binary.help([])
    verb_help = top
    problems = []
    if verb:
        _, verb_help = binary.help(verb)
        p = check_subverbs(binary, verb, toks, start, verb_help)
        if p:
            problems.append(p)
    for t in toks:
        for alt in t.split("|"):
            if not alt.startswith("--"):
                continue
            opt = alt.split("=", 1)[0]
            if opt == "--help":
                continue
            if not has_option(verb_help, opt) and not has_option(top, opt):
                where = " ".join([binary.name] + (verb or []))
                problems.append(f"option '{opt}' is not in '{where} --help'")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", action="append", default=[], metavar="NAME=PATH")
    ap.add_argument("--report", help="also write the mismatches to this file")
    ap.add_argument("--expect", type=int, metavar="N",
                    help="self-test: succeed only when exactly N mismatches are found")
    ap.add_argument("docs", nargs="+")
    args = ap.parse_args()

    binaries = {}
    for b in args.bin:
        name, _, path = b.partition("=")
        if not os.access(path, os.X_OK):
            print(f"check-runbooks: {name}: '{path}' is not executable", file=sys.stderr)
            return 2
        binaries[name] = Binary(name, path)

    mismatches, checked = [], 0
    for doc in args.docs:
        seen = set()
        for no, kind, cmd in shell_commands(doc):
            if (kind, cmd) in seen:
                continue
            seen.add((kind, cmd))
            checked += 1
            for p in check_command(binaries, cmd):
                mismatches.append(f"{os.path.basename(doc)}:{no}: [{kind}] {cmd}\n    -> {p}")
    for m in mismatches:
        print(m)
    print(f"check-runbooks: {checked} command lines checked in {len(args.docs)} files, "
          f"{len(mismatches)} mismatches")
    if args.report:
        with open(args.report, "w", encoding="utf-8") as f:
            f.write("\n".join(mismatches) + ("\n" if mismatches else ""))
    if checked == 0:
        print("check-runbooks: no command found: the extraction is broken", file=sys.stderr)
        return 1
    if args.expect is not None:
        if len(mismatches) != args.expect:
            print(f"check-runbooks: expected {args.expect} mismatches, found {len(mismatches)}",
                  file=sys.stderr)
            return 1
        return 0
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
