#!/usr/bin/env python3
"""Generates a Debian Security Tracker JSON feed of the real one's size and shape.

The real feed cannot be downloaded here, so bench/scan.sh imports this one:

    bench/gen_tracker.py [--cves N] [--pairs N] [--sources FILE] > tracker.json

- Shape: {source package: {CVE id: {"description", "scope", "debianbug",
  "releases": {codename: {"status", "repositories", "fixed_version",
  "urgency", "nodsa", "nodsa_reason"}}}}}, as the tracker writes it, with
  "releases": [] for some entries (the tracker's PHP-style empty object).
- Size: N CVEs (default 36,000) spread over (package, CVE) pairs (default
  115,000), each with statements for 2-5 releases (bullseye, bookworm,
  trixie, sid, sometimes buster): about 400,000 release entries, 60-70 MB,
  like the real feed.
- The source packages of a real image (--sources: lines "NAME VERSION", e.g.
  from a lock file) get a share of the CVEs (about 90 each, like glibc or
  openssl in the real feed), so a scan of that image does real matching
  work. As for an image built from the current archive, most of their
  bookworm fixes are at or below the installed version; 5% are above it
  (fixes that landed after the build), and the open ones keep their
  no-dsa/unimportant triage, so the scan has findings of every state.
- Deterministic: the same arguments give the same bytes.
"""
import argparse
import json
import random
import sys

RELEASES = ["buster", "bullseye", "bookworm", "trixie", "sid"]
URGENCIES = ["low", "medium", "high", "unimportant", "not yet assigned", "low**", "medium**"]
WORDS = ("buffer overflow heap use-after-free integer denial service remote attacker crafted file "
         "allows cause memory corruption out-of-bounds read write via function parser before").split()


def description(rng):
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(18, 45))).capitalize() + "."


def bump(version, rng):
    """A version above `version` as a stable or security update would have it."""
    return f"{version}+deb12u{rng.randint(1, 9)}"


def release_entry(rng, release, installed):
    real = release == "bookworm" and installed
    base = installed if real else f"{rng.randint(1, 9)}.{rng.randint(0, 30)}-{rng.randint(1, 5)}"
    # Most of a maintained package's CVEs are resolved in the current release;
    # the synthetic packages, across all releases, carry more open entries.
    resolved, open_ = (0.80, 0.17) if real else (0.55, 0.35)
    roll = rng.random()
    entry = {"repositories": {release: base}}
    if roll < resolved:
        entry["status"] = "resolved"
        above = 0.05 if real else 0.35
        entry["fixed_version"] = bump(base, rng) if rng.random() < above else ("0" if rng.random() < 0.2 else base)
    elif roll < resolved + open_:
        entry["status"] = "open"
        if rng.random() < 0.4:
            entry["nodsa"] = "Minor issue"
            entry["nodsa_reason"] = rng.choice(["", "ignored", "postponed"])
    else:
        entry["status"] = "undetermined"
    entry["urgency"] = "end-of-life" if release == "buster" and rng.random() < 0.5 else rng.choice(URGENCIES)
    return entry


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cves", type=int, default=36000)
    parser.add_argument("--pairs", type=int, default=115000)
    parser.add_argument("--sources", help="lines 'NAME VERSION': an image's source packages")
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    real = {}
    if args.sources:
        with open(args.sources) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2:
                    real[parts[0]] = parts[1]
    real_names = list(real)
    packages = real_names + [f"synthetic-{i:05d}" for i in range(9000)]
    cves = [f"CVE-{2005 + i % 21}-{10000 + i}" for i in range(args.cves)]

    feed = {}
    pairs = 0
    # Every CVE appears at least once; the rest of the pairs go to random packages,
    # the real ones getting a larger share (popular packages have many CVEs).
    while pairs < args.pairs:
        cve = cves[pairs] if pairs < len(cves) else rng.choice(cves)
        package = rng.choice(real_names) if real_names and rng.random() < 0.02 else rng.choice(packages)
        entries = feed.setdefault(package, {})
        if cve in entries:
            continue
        pairs += 1
        if rng.random() < 0.01:
            entries[cve] = {"description": description(rng), "releases": []}
            continue
        chosen = [r for r in RELEASES if r != "buster" or rng.random() < 0.3]
        chosen = chosen[: rng.randint(2, len(chosen))]
        if "bookworm" not in chosen and rng.random() < 0.8:
            chosen.append("bookworm")
        entries[cve] = {
            "description": description(rng),
            "scope": rng.choice(["local", "remote"]),
            "debianbug": rng.randint(100000, 1100000),
            "releases": {r: release_entry(rng, r, real.get(package)) for r in chosen},
        }
    json.dump(feed, sys.stdout, separators=(",", ":"), sort_keys=True)


if __name__ == "__main__":
    main()
