#!/usr/bin/env bash
# docs/ARCHITECTURE.md is a claim: its crate table must match the workspace's
# real internal dependencies (cargo metadata), and no pure library may reach an
# I/O crate through its normal dependencies, however indirectly.
set -euo pipefail
cd "$(dirname "$0")/.."
${CARGO:-cargo} metadata --format-version 1 --locked 2>/dev/null | /usr/bin/env python3 -c '
import json, re, sys
doc = open("docs/ARCHITECTURE.md").read()
def block(name):
    m = re.search(r"<!-- architecture:%s -->\n(.*?)<!-- /architecture:%s -->" % (name, name), doc, re.S)
    if not m:
        sys.exit("check-architecture: docs/ARCHITECTURE.md has no architecture:%s block" % name)
    return m.group(1)
claimed = {}
for line in block("crates").splitlines():
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) != 4 or cells[0] in ("crate", "") or set(cells[0]) <= set("-"):
        continue
    split = lambda c: {x.strip() for x in c.split(",") if x.strip()}
    claimed[cells[0]] = (cells[1], split(cells[2]), split(cells[3]))
io = {x.strip() for x in block("io-crates").replace("\n", ",").split(",") if x.strip()}

meta = json.load(sys.stdin)
members = set(meta["workspace_members"])
pkgs = {p["id"]: p for p in meta["packages"]}
local = {pkgs[i]["name"] for i in members}
errors = []
for name in sorted(local ^ set(claimed)):
    errors.append("%s: %s" % (name, "in the workspace but not in the table" if name in local else "in the table but not in the workspace"))
for i in members:
    p = pkgs[i]
    if p["name"] not in claimed:
        continue
    normal = {d["name"] for d in p["dependencies"] if d["name"] in local and d["kind"] is None and d["name"] != p["name"]}
    dev = {d["name"] for d in p["dependencies"] if d["name"] in local and d["kind"] == "dev" and d["name"] != p["name"]} - normal
    kind, want_normal, want_dev = claimed[p["name"]]
    if normal != want_normal:
        errors.append("%s: internal dependencies are {%s}, the table says {%s}" % (p["name"], ", ".join(sorted(normal)), ", ".join(sorted(want_normal))))
    if dev != want_dev:
        errors.append("%s: dev-only internal dependencies are {%s}, the table says {%s}" % (p["name"], ", ".join(sorted(dev)), ", ".join(sorted(want_dev))))

# Normal-dependency closure of each pure library.
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
def normal_deps(nid):
    for d in nodes[nid]["deps"]:
        if any(k["kind"] is None for k in d["dep_kinds"]):
            yield d["pkg"]
for i in members:
    name = pkgs[i]["name"]
    if claimed.get(name, ("",))[0] != "pure library":
        continue
    seen, todo = set(), [i]
    while todo:
        for d in normal_deps(todo.pop()):
            if d not in seen:
                seen.add(d)
                todo.append(d)
    bad = sorted({pkgs[d]["name"] for d in seen} & io)
    if bad:
        errors.append("%s is a pure library but reaches I/O crates: %s" % (name, ", ".join(bad)))
if errors:
    print("check-architecture: docs/ARCHITECTURE.md disagrees with the workspace:", file=sys.stderr)
    for e in errors:
        print("  " + e, file=sys.stderr)
    sys.exit(1)
'
