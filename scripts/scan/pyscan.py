#!/usr/bin/env python3
"""Reference scanner for the benchmark of evidence/scan, built on pickletools.

It decodes pickle opcodes with pickletools.genops and never unpickles. It
resolves GLOBAL, INST and STACK_GLOBAL by tracking pushed strings and the memo.
It reads zip members with zipfile, which verifies each CRC-32, and searches
every file and member for the same secret patterns as the Go scanner with re.

Usage: python3 scripts/scan/pyscan.py PATH...   (directories recurse)
It prints one line per finding and a summary with the elapsed time. It is a
speed reference, not a full second scanner: it skips protocol 0 and 1 files,
joblib array data and the zip header checks.
"""

import os
import pickletools
import re
import sys
import time
import zipfile

SECRET_PATTERNS = {
    "aws-access-key-id": re.compile(rb"(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])"),
    "private-key": re.compile(rb"-----BEGIN (?:(?:RSA|EC|DSA|OPENSSH|ENCRYPTED) )?PRIVATE KEY-----|-----BEGIN PGP PRIVATE KEY BLOCK-----"),
    "github-token": re.compile(rb"(?<![A-Za-z0-9])(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})"),
    "slack-token": re.compile(rb"(?<![A-Za-z0-9])(?:xox[abprs]-[0-9A-Za-z-]{10,}|xapp-[0-9A-Za-z-]{10,})"),
    "slack-webhook": re.compile(rb"hooks\.slack\.com/services/T[A-Za-z0-9/]{20,}"),
}
ASSIGNMENT = re.compile(
    rb"(?i:[a-z0-9_.-]*(?:password|passwd|secret|token|api_key|apikey|api-key|access_key|accesskey|auth_key|credential)"
    rb"[a-z0-9_.-]*)[\"']?[ \t]*(?::=|=>|=(?!=)|:)[ \t]*[\"']?([^\s\"',;)\]}]{16,256})")
DANGEROUS = re.compile(r"^(os|posix|nt|subprocess|pty|commands|builtins\.(eval|exec|compile|open|__import__|getattr)|"
                       r"__builtin__\.(eval|exec|compile|open|__import__|getattr)|importlib|runpy|socket|shutil)(\.|$)")
STRING_OPS = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "STRING", "BINSTRING", "SHORT_BINSTRING"}


def entropy(value):
    counts = {}
    for byte in value:
        counts[byte] = counts.get(byte, 0) + 1
    total = len(value)
    from math import log2
    return -sum(n / total * log2(n / total) for n in counts.values())


def scan_secrets(data, where, findings):
    for kind, pattern in SECRET_PATTERNS.items():
        for match in pattern.finditer(data):
            findings.append(("secret", kind, where, match.start()))
    for match in ASSIGNMENT.finditer(data):
        value = match.group(1)
        if entropy(value) >= 3.5:
            findings.append(("secret", "high-entropy-assignment", where, match.start()))


def scan_pickle(data, where, findings):
    strings, memo = [], {}
    try:
        for op, arg, pos in pickletools.genops(data):
            name = op.name
            if name in STRING_OPS:
                strings.append(arg)
            elif name in ("MEMOIZE",):
                memo[len(memo)] = strings[-1] if strings else None
            elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
                memo[arg] = strings[-1] if strings else None
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                strings.append(memo.get(arg))
            elif name in ("GLOBAL", "INST"):
                module, _, attr = arg.partition(" ")
                report_global(module, attr, where, pos, findings)
            elif name == "STACK_GLOBAL":
                module, attr = (strings[-2], strings[-1]) if len(strings) >= 2 else ("?", "?")
                report_global(str(module), str(attr), where, pos, findings)
            elif name == "STOP":
                if pos + 1 < len(data):
                    findings.append(("structure", "pickle-trailing-data", where, pos + 1))
                break
    except ValueError as error:
        findings.append(("structure", "pickle-invalid", where, str(error)))


def report_global(module, attr, where, pos, findings):
    full = f"{module}.{attr}"
    severity = "error" if DANGEROUS.match(full) else "global"
    findings.append((severity, full, where, pos))


def scan_zip(path, findings):
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            where = f"{path}:{info.filename}"
            try:
                data = archive.read(info)  # verifies the CRC-32
            except (zipfile.BadZipFile, RuntimeError, NotImplementedError) as error:
                findings.append(("structure", "zip-unreadable-member", where, str(error)))
                continue
            if info.filename.endswith(".pkl"):
                scan_pickle(data, where, findings)
            scan_secrets(data, where, findings)


def scan_file(path, findings):
    with open(path, "rb") as f:
        head = f.read(4)
    if head == b"PK\x03\x04":
        try:
            scan_zip(path, findings)
        except zipfile.BadZipFile as error:
            findings.append(("structure", "zip-invalid", path, str(error)))
        return
    with open(path, "rb") as f:
        data = f.read()
    if head[:1] == b"\x80":
        scan_pickle(data, path, findings)
    scan_secrets(data, path, findings)


def main(paths):
    files = []
    for path in paths:
        if os.path.isdir(path):
            for root, _, names in os.walk(path):
                files.extend(os.path.join(root, name) for name in names)
        else:
            files.append(path)
    findings = []
    start = time.perf_counter()
    total = 0
    for path in sorted(files):
        total += os.path.getsize(path)
        scan_file(path, findings)
    elapsed = time.perf_counter() - start
    for finding in findings:
        print(*finding, sep="\t")
    print(f"{len(files)} files, {total} bytes, {len(findings)} findings, {elapsed:.3f} s, "
          f"{total / elapsed / 1e6:.1f} MB/s", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
