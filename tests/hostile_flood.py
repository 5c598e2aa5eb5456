"""Floods a lab segment with invalid VRRP packets, each of which would move the VIP if a
receiver accepted it (priority 254 for the attacked VRID, or priority 0 which makes a backup
take over): bad checksum, TTL < 255, wrong version, wrong type, truncated, wrong PASS
password, wrong advert interval, wrong address count, IP fragments, IP options, random
protocol-112 payloads. Only for namespaces a test created (lab addresses, 224.0.0.18).

usage: hostile_flood.py IFACE SRC VRID PASSWORD VIP SECONDS MAX_PACKETS [RATE]
RATE: packets per second (default 0: as fast as scapy sends).
prints one line per kind with the number sent.
"""
import random
import socket
import struct
import sys
import time

from scapy.all import IP, Ether, Raw, conf, get_if_hwaddr, sendp  # Debian's python3-scapy

iface, src, vrid, password, vip, seconds, max_packets = sys.argv[1:8]
vrid, seconds, max_packets = int(vrid), float(seconds), int(max_packets)
rate = float(sys.argv[8]) if len(sys.argv) > 8 else 0.0
conf.verb = 0
# A real source MAC: a bridge drops frames from 00:00:00:00:00:00, scapy's fallback when it
# finds no route to the multicast group.
mac = get_if_hwaddr(iface)
rng = random.Random(112)


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return (~total) & 0xFFFF


def v2(priority=254, vrid=vrid, version_type=0x21, count=1, auth_type=1, interval=1,
       addrs=None, pw=password, bad_checksum=False):
    addrs = [vip] if addrs is None else addrs
    body = struct.pack("!BBBBBBH", version_type, vrid, priority, count, auth_type, interval, 0)
    body += b"".join(socket.inet_aton(a) for a in addrs)
    body += pw.encode()[:8].ljust(8, b"\0")
    c = csum(body)
    if bad_checksum:
        c ^= 0x5A5A
    return body[:6] + struct.pack("!H", c) + body[8:]


def ip(payload, ttl=255, **kw):
    # Layer 2, to the VRRP group's multicast MAC: the lab host has no multicast route.
    return Ether(src=mac, dst="01:00:5e:00:00:12") / IP(
        src=src, dst="224.0.0.18", ttl=ttl, proto=112, **kw
    ) / Raw(payload)


kinds = {
    "bad_checksum": lambda: ip(v2(bad_checksum=True)),
    "ttl_64": lambda: ip(v2(), ttl=64),
    "version_4": lambda: ip(v2(version_type=0x41)),
    "type_2": lambda: ip(v2(version_type=0x22)),
    "truncated": lambda: ip(v2()[:10]),
    "wrong_password": lambda: ip(v2(pw="intruder")),
    "wrong_interval": lambda: ip(v2(interval=5)),
    "address_count": lambda: ip(v2(count=3)),
    "priority_0_bad_checksum": lambda: ip(v2(priority=0, bad_checksum=True)),
    "fragment": lambda: ip(v2(), flags="MF"),
    "ip_options": lambda: ip(v2(), options=b"\x94\x04\x00\x00"),
    "random_payload": lambda: ip(bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 80)))),
}
sent = {k: 0 for k in kinds}
end = time.monotonic() + seconds
total = 0
names = list(kinds)
start = time.monotonic()
while time.monotonic() < end and total < max_packets:
    if rate > 0:
        # A trickle: one packet at a time, paced (the pace is the attack, not a wait).
        name = names[total % len(names)]
        sendp(kinds[name](), iface=iface)
        sent[name] += 1
        total += 1
        pause = start + total / rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        continue
    batch = [kinds[names[(total + i) % len(names)]]() for i in range(len(names))]
    sendp(batch, iface=iface)
    for i in range(len(names)):
        sent[names[(total + i) % len(names)]] += 1
    total += len(names)
for k, v in sent.items():
    print(f"sent {k} {v}", flush=True)
