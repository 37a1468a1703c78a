#!/usr/bin/python3
# test-units.py — the shipped units are as hardened as issue 11 asks.
#
#   test-units.py BUILT_UNIT_DIR SOURCE_UNIT_DIR DEFAULT_POLICY
#
# Prints `systemd-analyze security --offline=true` exposure of each service
# and fails at 2.0 or above; checks the directives the design requires and
# that the hand-off tmpfs can hold the default policy's largest package.
import json
import re
import subprocess
import sys

built, source, policy_path = sys.argv[1:4]
results = []


def check(name, ok, note=""):
    results.append((name, ok, note))


def directives(path):
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#") or line.startswith("["):
                continue
            key, _, value = line.partition("=")
            out.setdefault(key, []).append(value)
    return out


def exposure(unit):
    proc = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--no-pager", unit],
        capture_output=True, text=True)
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", proc.stdout)
    return float(m.group(1)) if m else None


for unit in ("sekishod.service", "sekisho-sweep.service"):
    level = exposure(f"{built}/{unit}")
    print(f"# {unit}: exposure {level}")
    check(f"{unit} exposure below 2.0", level is not None and level < 2.0, f"{level}")

d = directives(f"{built}/sekishod.service")
required = {
    "PrivateNetwork": "yes",
    "ProtectSystem": "strict",
    "NoNewPrivileges": "yes",
    "ProtectHome": "yes",
    "MemoryDenyWriteExecute": "yes",
    "RestrictAddressFamilies": "AF_UNIX AF_NETLINK",
    "ReadWritePaths": "/var/lib/sekisho /run/sekisho",
}
for key, value in required.items():
    check(f"sekishod.service {key}={value}", d.get(key) == [value], f"{d.get(key)}")
check("sekishod.service SystemCallFilter=@system-service @mount",
      "@system-service @mount" in d.get("SystemCallFilter", []))
caps = set(" ".join(d.get("CapabilityBoundingSet", [])).split())
check("sekishod.service CapabilityBoundingSet only what media and hand-off need",
      caps and caps <= {"CAP_SYS_ADMIN", "CAP_CHOWN", "CAP_FOWNER", "CAP_DAC_OVERRIDE"},
      f"{sorted(caps)}")

m = directives(f"{source}/run-sekisho.mount")
options = dict(
    (o.split("=", 1) + [None])[:2] for o in ",".join(m.get("Options", [])).split(","))
check("run-sekisho.mount is a tmpfs at /run/sekisho",
      m.get("Type") == ["tmpfs"] and m.get("Where") == ["/run/sekisho"])
for flag in ("nosuid", "nodev", "noexec"):
    check(f"run-sekisho.mount {flag}", flag in options)
check("run-sekisho.mount mode=0711", options.get("mode") == "0711")
with open(policy_path, encoding="utf-8") as f:
    cap = json.load(f)["limits"]["max_package_size"]
size = options.get("size", "")
units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
size_bytes = int(size[:-1]) * units[size[-1]] if size and size[-1] in units else int(size or 0)
check("run-sekisho.mount holds the largest package the default policy allows",
      size_bytes >= cap, f"size={size} cap={cap}")

t = directives(f"{source}/sekisho-sweep.timer")
check("sekisho-sweep.timer runs periodically", bool(t.get("OnUnitActiveSec")))

print(f"1..{len(results)}")
failed = 0
for i, (name, ok, note) in enumerate(results, 1):
    print(f"{'ok' if ok else 'not ok'} {i} {name}" + ("" if ok else f" # {note}"))
    failed += not ok
sys.exit(1 if failed else 0)
