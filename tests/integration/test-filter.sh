#!/bin/bash
# test-filter.sh FILTER_TOOL - the isolation filters against crafted frames (TAP).
#
# In network namespaces this test creates: a "host" namespace with bridge
# vbr0 (192.168.100.1/24, fixed MAC) and four veth "VMs": vmbN on the bridge,
# its peer eth0 in namespace vN with MAC de:af:de:af:64:0M and 192.168.100.M
# (M = N+1). vmb1..vmb3 get rules; vmb4 never does (a tap without rules).
# For each backend (nft, ebtables) and isolation off / on / mixed, a Python
# helper (AF_PACKET raw sockets, frames built by hand, no scapy) sends
# frames from a VM and counts, on vbr0 (the host) and on every VM's eth0,
# the incoming frames that carry the probe's random marker:
#   every VM:   spoofed source MAC, spoofed source IP, ARP claiming the
#               gateway's IP, ARP with a foreign sender MAC, DHCP OFFER,
#               IPv6 RA, DHCPv6 reply, VLAN tag, RARP: dropped, isolation
#               on and off; legitimate traffic to the gateway, DHCP DISCOVER
#               from 0.0.0.0, ARP probes and requests for the gateway, a
#               kernel ping of the gateway: pass, on and off.
#   isolated:   unicast / ping / broadcast / multicast / IPv6 to another VM,
#               routing through the host to an isolated VM (hairpin), a
#               host packet or ARP from an address not allowed: dropped with
#               isolation on and passing with it off (so the test cannot pass
#               by accident); a broadcast flood is cut to about the limit.
#   mixed:      an open VM reaches an open VM but not an isolated one.
#   new (issue 11), every VM: a DHCP DECLINE / RELEASE / DISCOVER naming
#               another VM's MAC as its BOOTP chaddr, a fragmented DHCP
#               client message, a DHCP OFFER from port 6767 to port 68 and a
#               DHCPv6 message from 6767 to 546, IPv6 from a source not the
#               VM's MAC-derived link-local address (made up, or another
#               VM's), a neighbour advertisement for another VM's address,
#               a TCP SYN to 192.168.100.1:2222 (IPv4 and IPv6), UDP to a
#               host port, to the subnet broadcast, and a real TCP connect
#               (the VM's kernel) to a listener on 192.168.100.1:2222:
#               dropped on, isolation on and off; the same probes get through
#               with no rules at all (the last run, filter_backend none), so
#               none passes by accident. What must still work: DHCP REQUEST
#               with its own chaddr, DNS (udp, tcp) and ping to the gateway,
#               a host port of the allow-list (--host-port tcp/2223, also by
#               a real connect), the VM's own neighbour advertisement and
#               DAD, a neighbour solicitation for another VM, a TCP answer
#               (SYN+ACK) to the host. An isolated VM reaches the DHCP server
#               elsewhere on the bridge (namespace "s", 192.168.100.254) only
#               for DHCP, DNS, ping, and so does an open one (the gateway and
#               the DHCP server count as the host, wherever they are).
#               ebtables cannot match the BOOTP chaddr, the ND target or TCP
#               flags: those probes are counted skips for it, with the reason.
#   VM group IPv6 (FilterVm.ipv6), vmb1 open: with it off, global and ULA
#               sources with the VM's own interface identifier (EUI-64 of its
#               MAC) are dropped; with it on they pass (multicast, unicast to
#               another VM), while a global source with another VM's or a
#               made-up interface identifier, link-local spoofing, RAs,
#               DHCPv6 server replies, neighbour advertisements and DAD for
#               another VM's global address stay dropped; its own global NA
#               and DAD pass (nft; counted skips for ebtables, which drops
#               every NA and IPv6 from ::); isolated, it gets no IPv6.
# Also: a tap without rules is closed, remove is idempotent, sync with
# nothing to do writes nothing (nft: rule handles unchanged), `nft flush
# ruleset` then sync restores the rules, tables and rules of others
# survive every change, bad arguments are refused.
# Needs root, ip, nft, ebtables-nft, python3; otherwise "1..0 # SKIP".
set -u

HERE=$(dirname "$(readlink -f "$0")")
# shellcheck source=lib.sh
. "$HERE/lib.sh"

TOOL=${1:-}
[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespaces, bridge, nftables)"
require_host_features
[ -n "$TOOL" ] && [ -x "$TOOL" ] || skip_all "filter-tool not built (pass its path as \$1)"
TOOL=$(readlink -f "$TOOL")
for t in ip nft ebtables-nft python3; do
    command -v "$t" >/dev/null || skip_all "$t not installed"
done

PFX=vmbf$$
H=${PFX}h
S=${PFX}s # the DHCP server elsewhere on the bridge
GWMAC=02:00:00:00:64:01
SRVMAC=02:00:00:00:64:fe SRVIP=192.168.100.254
W=$(mktemp -d /tmp/vmb-filter.XXXXXX) || exit 1
NS_MADE=()

cleanup() {
    local rc=$? ns p
    trap - EXIT INT TERM
    for ns in "${NS_MADE[@]}"; do
        for p in $(ip netns pids "$ns" 2>/dev/null); do
            diag "WARNING: still in $ns: $p $(cat "/proc/$p/comm" 2>/dev/null)"
        done
        ip netns del "$ns" 2>/dev/null
    done
    rm -rf "$W"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

hx() { ip netns exec "$H" "$@"; }
ft() { hx "$TOOL" "$@"; }
vm_mac() { printf 'de:af:de:af:64:%02x' $(($1 + 1)); }
vm_ip() { echo "192.168.100.$(($1 + 1))"; }

# ---- the probe: frames by hand, counted by marker ----------------------
cat >"$W/probe.py" <<'PY'
import ctypes, os, random, select, socket, struct, sys, time

libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4

def in_ns(name, fn):
    me = os.open('/proc/self/ns/net', os.O_RDONLY)
    fd = os.open('/run/netns/' + name, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), 'setns ' + name)
        return fn()
    finally:
        libc.setns(me, CLONE_NEWNET)
        os.close(fd)
        os.close(me)

def packet_socket(ifname):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE: room for a flood
    s.bind((ifname, 0))
    s.setblocking(False)
    return s

def mac(s): return bytes.fromhex(s.replace(':', ''))
def ip4(s): return socket.inet_pton(socket.AF_INET, s)
def ip6(s): return socket.inet_pton(socket.AF_INET6, s)

def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff

def eth(dst, src, etype, payload):
    f = mac(dst) + mac(src) + struct.pack('!H', etype) + payload
    return f + b'\0' * max(0, 60 - len(f))

def vlan(dst, src, vid, etype, payload):
    return eth(dst, src, 0x8100, struct.pack('!HH', vid, etype) + payload)

def ipv4(src, dst, proto, payload, ttl=64, frag=0):
    h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(payload), random.randrange(65536), frag, ttl, proto, 0, ip4(src), ip4(dst))
    h = h[:10] + struct.pack('!H', csum(h)) + h[12:]
    return h + payload

def udp4(sport, dport, data, ulen=None):
    return struct.pack('!HHHH', sport, dport, ulen or 8 + len(data), 0) + data

def tcp4(src, dst, sport, dport, flags, data):
    h = struct.pack('!HHIIBBHHH', sport, dport, random.randrange(1 << 32), 1 if flags & 0x10 else 0, 5 << 4, flags, 65535, 0, 0) + data
    c = csum(ip4(src) + ip4(dst) + struct.pack('!BBH', 0, 6, len(h)) + h)
    return h[:16] + struct.pack('!H', c) + h[18:]

def bootp(op, chaddr, mtype, marker, ciaddr='0.0.0.0', yiaddr='0.0.0.0', req=None, server=None):
    # chaddr at offset 28 of the BOOTP message (@th,288,48 with the UDP header)
    b = struct.pack('!BBBBIHH', op, 1, 6, 0, random.randrange(1 << 32), 0, 0x8000)
    b += ip4(ciaddr) + ip4(yiaddr) + ip4('0.0.0.0') + ip4('0.0.0.0')
    b += mac(chaddr) + b'\0' * 10 + marker.ljust(64, b'\0')[:64] + b'\0' * 128
    b += b'\x63\x82\x53\x63' + bytes([53, 1, mtype])
    if req: b += bytes([50, 4]) + ip4(req)
    if server: b += bytes([54, 4]) + ip4(server)
    return b + b'\xff' + b'\0' * 16

def icmp_echo(ident, seq, data):
    h = struct.pack('!BBHHH', 8, 0, 0, ident, seq) + data
    return h[:2] + struct.pack('!H', csum(h)) + h[4:]

def arp(op, sha, spa, tha, tpa, marker):
    return struct.pack('!HHBBH', 1, 0x0800, 6, 4, op) + mac(sha) + ip4(spa) + mac(tha) + ip4(tpa) + marker

def ipv6(src, dst, nh, payload):
    return struct.pack('!IHBB', 6 << 28, len(payload), nh, 255) + ip6(src) + ip6(dst) + payload

def l4_6(src, dst, nh, body):
    pseudo = ip6(src) + ip6(dst) + struct.pack('!IxxxB', len(body), nh)
    c = csum(pseudo + body)
    return c

def icmp6(src, dst, typ, code, rest):
    body = struct.pack('!BBH', typ, code, 0) + rest
    c = l4_6(src, dst, 58, body)
    return ipv6(src, dst, 58, body[:2] + struct.pack('!H', c) + body[4:])

def udp6(src, dst, sport, dport, data):
    body = struct.pack('!HHHH', sport, dport, 8 + len(data), 0) + data
    c = l4_6(src, dst, 17, body)
    return ipv6(src, dst, 17, body[:6] + struct.pack('!H', c) + body[8:])

def tcp6(src, dst, sport, dport, flags, data):
    body = struct.pack('!HHIIBBHHH', sport, dport, random.randrange(1 << 32), 0, 5 << 4, flags, 65535, 0, 0) + data
    c = l4_6(src, dst, 6, body)
    return ipv6(src, dst, 6, body[:16] + struct.pack('!H', c) + body[18:])

def nd_opt(data):
    # an option of an unassigned type carrying the marker, padded to 8 bytes
    n = (2 + len(data) + 7) // 8
    return bytes([253, n]) + data.ljust(n * 8 - 2, b'\0')

def ll6(m):
    b = bytearray(mac(m)); b[0] ^= 2
    return socket.inet_ntop(socket.AF_INET6, b'\xfe\x80' + b'\0' * 6 + bytes(b[:3]) + b'\xff\xfe' + bytes(b[3:]))

def gua(m, pfx='2001:db8:64::'):
    # an address of prefix pfx (/64) with the modified EUI-64 of MAC m (SLAAC)
    b = bytearray(mac(m)); b[0] ^= 2
    return socket.inet_ntop(socket.AF_INET6, ip6(pfx)[:8] + bytes(b[:3]) + b'\xff\xfe' + bytes(b[3:]))

def main():
    pfx, kind, frm = sys.argv[1], sys.argv[2], int(sys.argv[3])
    vms = [1, 2, 3, 4]
    vmac = lambda n: 'de:af:de:af:64:%02x' % (n + 1)
    vip = lambda n: '192.168.100.%d' % (n + 1)
    GW, GWMAC, BC = '192.168.100.1', '02:00:00:00:64:01', 'ff:ff:ff:ff:ff:ff'
    marker = os.urandom(16)
    data = marker + b'vmbatch-filter-probe'

    if kind == 'kping':
        # the kernel of VM frm pings address argv[4]: real ARP and routing
        dst = sys.argv[4]
        s = in_ns(pfx + 'v%d' % frm, lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP))
        s.setblocking(False)
        ident = random.randrange(65536)
        deadline = time.time() + 3
        got = 0
        for seq in range(3):
            s.sendto(icmp_echo(ident, seq, data), (dst, 0))
            end = min(deadline, time.time() + 1)
            while not got and time.time() < end:
                r, _, _ = select.select([s], [], [], 0.05)
                if r:
                    pkt, addr = s.recvfrom(2048)
                    ihl = (pkt[0] & 15) * 4
                    if addr[0] == dst and pkt[ihl] == 0 and marker in pkt:
                        got = 1
            if got:
                break
        print('reply=%d' % got)
        return

    if kind == 'kconnect':
        # the kernel of VM frm connects to argv[4]:argv[5], a listener in the host's namespace
        dst, port = sys.argv[4], int(sys.argv[5])
        ls = in_ns(pfx + 'h', lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((dst, port))
        ls.listen(4)
        cs = in_ns(pfx + 'v%d' % frm, lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
        cs.settimeout(3)
        try:
            cs.connect((dst, port))
            got = 1
        except OSError:
            got = 0
        r, _, _ = select.select([ls], [], [], 0.2)
        print('connected=%d accepted=%d' % (got, 1 if r else 0))
        return

    to = int(sys.argv[4]) if len(sys.argv) > 4 else 2
    port = int(sys.argv[5]) if len(sys.argv) > 5 else 2222
    SRV, SRVMAC = '192.168.100.254', '02:00:00:00:64:fe'
    GW6 = ll6(GWMAC)
    # receivers: the host's bridge and every VM's eth0
    rx = {'br': in_ns(pfx + 'h', lambda: packet_socket('vbr0')), 'srv': in_ns(pfx + 's', lambda: packet_socket('eth0'))}
    for n in vms:
        rx['vm%d' % n] = in_ns(pfx + 'v%d' % n, lambda: packet_socket('eth0'))
    smac, sip = vmac(frm), vip(frm)
    tmac, tip = vmac(to), vip(to)
    frames, wait = [], 0.15
    if kind == 'udp-gw':
        # DNS: a host service every VM may reach
        frames = [eth(GWMAC, smac, 0x0800, ipv4(sip, GW, 17, udp4(40000, 53, data)))]
    elif kind == 'udp-gw-port':
        frames = [eth(GWMAC, smac, 0x0800, ipv4(sip, GW, 17, udp4(40000, port, data)))]
    elif kind == 'udp-subnet-bcast':
        # the subnet's broadcast address in a frame to the gateway: delivered to the host
        frames = [eth(GWMAC, smac, 0x0800, ipv4(sip, '192.168.100.255', 17, udp4(40000, 9, data)))]
    elif kind == 'tcp-syn-gw':
        frames = [eth(GWMAC, smac, 0x0800, ipv4(sip, GW, 6, tcp4(sip, GW, 40000, port, 0x02, data)))]
    elif kind == 'tcp-synack-gw':
        # an answer to the host's own connection to the VM's port `port`
        frames = [eth(GWMAC, smac, 0x0800, ipv4(sip, GW, 6, tcp4(sip, GW, port, 40000, 0x12, data)))]
    elif kind == 'tcp6-syn-gw':
        frames = [eth(GWMAC, smac, 0x86dd, tcp6(ll6(smac), GW6, 40000, port, 0x02, data))]
    elif kind == 'tcp-syn-srv':
        frames = [eth(SRVMAC, smac, 0x0800, ipv4(sip, SRV, 6, tcp4(sip, SRV, 40000, port, 0x02, data)))]
    elif kind == 'udp-srv-dns':
        frames = [eth(SRVMAC, smac, 0x0800, ipv4(sip, SRV, 17, udp4(40000, 53, data)))]
    elif kind == 'dhcp-request':
        frames = [eth(GWMAC, smac, 0x0800, ipv4(sip, GW, 17, udp4(68, 67, bootp(1, smac, 3, data, ciaddr=sip))))]
    elif kind == 'dhcp-decline-foreign':
        # "VM to's address is in use": the server refuses it to VM to for 10 minutes
        frames = [eth(BC, smac, 0x0800, ipv4('0.0.0.0', '255.255.255.255', 17,
                                             udp4(68, 67, bootp(1, tmac, 4, data, req=tip, server=GW))))]
    elif kind == 'dhcp-release-foreign':
        frames = [eth(GWMAC, smac, 0x0800, ipv4(sip, GW, 17, udp4(68, 67, bootp(1, tmac, 7, data, ciaddr=tip, server=GW))))]
    elif kind == 'dhcp-discover-foreign':
        frames = [eth(BC, smac, 0x0800, ipv4('0.0.0.0', '255.255.255.255', 17, udp4(68, 67, bootp(1, tmac, 1, data))))]
    elif kind == 'dhcp-frag':
        # the first fragment of a DHCP message: 24 bytes of BOOTP, its chaddr would come later
        frames = [eth(GWMAC, smac, 0x0800, ipv4(sip, GW, 17, udp4(68, 67, data[:24], ulen=308), frag=0x2000))]
    elif kind == 'dhcp-offer-6767':
        frames = [eth(BC, smac, 0x0800, ipv4(sip, '255.255.255.255', 17, udp4(6767, 68, bootp(2, tmac, 2, data, yiaddr=tip, server=sip))))]
    elif kind == 'dhcp-offer-6767-unicast':
        frames = [eth(tmac, smac, 0x0800, ipv4(sip, tip, 17, udp4(6767, 68, bootp(2, tmac, 2, data, yiaddr=tip, server=sip))))]
    elif kind == 'dhcpv6-6767':
        frames = [eth('33:33:00:00:00:01', smac, 0x86dd, udp6(ll6(smac), 'ff02::1', 6767, 546, data))]
    elif kind == 'ip6-spoof':
        frames = [eth('33:33:00:00:00:01', smac, 0x86dd, icmp6('fe80::dead:beef', 'ff02::1', 128, 0, struct.pack('!HH', 7, 1) + data))]
    elif kind == 'ip6-spoof-vm':
        frames = [eth('33:33:00:00:00:01', smac, 0x86dd, icmp6(ll6(tmac), 'ff02::1', 128, 0, struct.pack('!HH', 7, 1) + data))]
    elif kind in ('na-foreign', 'na-own'):
        target = ll6(tmac if kind == 'na-foreign' else smac)
        rest = struct.pack('!I', 0x20000000) + ip6(target) + bytes([2, 1]) + mac(smac) + nd_opt(data)
        frames = [eth('33:33:00:00:00:01', smac, 0x86dd, icmp6(ll6(smac), 'ff02::1', 136, 0, rest))]
    elif kind == 'ns-dad':
        rest = b'\0' * 4 + ip6(ll6(smac)) + nd_opt(data)
        frames = [eth('33:33:00:00:00:01', smac, 0x86dd, icmp6('::', 'ff02::1', 135, 0, rest))]
    elif kind == 'ns-resolve':
        rest = b'\0' * 4 + ip6(ll6(tmac)) + bytes([1, 1]) + mac(smac) + nd_opt(data)
        frames = [eth('33:33:00:00:00:01', smac, 0x86dd, icmp6(ll6(smac), 'ff02::1', 135, 0, rest))]
    elif kind in ('ip6-global-own', 'ip6-ula-own', 'ip6-global-foreign', 'ip6-global-madeup'):
        # a multicast ping from a global or ULA source (VM group IPv6)
        src = {'ip6-global-own': gua(smac), 'ip6-ula-own': gua(smac, 'fd00:64:1::'),
               'ip6-global-foreign': gua(tmac), 'ip6-global-madeup': '2001:db8:64::1234:5678'}[kind]
        frames = [eth('33:33:00:00:00:01', smac, 0x86dd, icmp6(src, 'ff02::1', 128, 0, struct.pack('!HH', 7, 1) + data))]
    elif kind == 'ip6-global-vm':
        frames = [eth(tmac, smac, 0x86dd, udp6(gua(smac), gua(tmac), 40000, 9, data))]
    elif kind in ('na-global-own', 'na-global-foreign'):
        target = gua(smac if kind == 'na-global-own' else tmac)
        rest = struct.pack('!I', 0x20000000) + ip6(target) + bytes([2, 1]) + mac(smac) + nd_opt(data)
        frames = [eth('33:33:00:00:00:01', smac, 0x86dd, icmp6(gua(smac), 'ff02::1', 136, 0, rest))]
    elif kind in ('ns-dad-global', 'ns-dad-global-foreign'):
        rest = b'\0' * 4 + ip6(gua(smac if kind == 'ns-dad-global' else tmac)) + nd_opt(data)
        frames = [eth('33:33:00:00:00:01', smac, 0x86dd, icmp6('::', 'ff02::1', 135, 0, rest))]
    elif kind == 'dhcpv6-reply-global':
        frames = [eth('33:33:00:00:00:01', smac, 0x86dd, udp6(gua(smac), 'ff02::1', 547, 546, data))]
    elif kind == 'udp-vm':
        frames = [eth(tmac, smac, 0x0800, ipv4(sip, tip, 17, udp4(40000, 9, data)))]
    elif kind == 'udp-allowed':
        # to an allow-listed address beyond the gateway
        frames = [eth(GWMAC, smac, 0x0800, ipv4(sip, '10.9.8.7', 17, udp4(40000, 9, data)))]
    elif kind == 'udp-internet':
        frames = [eth(GWMAC, smac, 0x0800, ipv4(sip, '10.99.0.1', 17, udp4(40000, 9, data)))]
    elif kind == 'spoof-mac-gw':
        frames = [eth(GWMAC, '02:66:66:66:66:66', 0x0800, ipv4(sip, GW, 17, udp4(40000, 53, data)))]
    elif kind == 'spoof-mac-vm':
        frames = [eth(tmac, '02:66:66:66:66:66', 0x0800, ipv4(sip, tip, 17, udp4(40000, 9, data)))]
    elif kind == 'spoof-mac-other-vm':
        # a frame that claims to come from VM `to` (its MAC and IP), to the gateway
        frames = [eth(GWMAC, tmac, 0x0800, ipv4(tip, GW, 17, udp4(40000, 53, data)))]
    elif kind == 'spoof-ip-gw':
        # to a port the host allows: only the spoofing rule stops it
        frames = [eth(GWMAC, smac, 0x0800, ipv4('192.168.100.77', GW, 17, udp4(40000, 53, data)))]
    elif kind == 'spoof-ip-vm':
        frames = [eth(tmac, smac, 0x0800, ipv4('192.168.100.77', tip, 17, udp4(40000, 9, data)))]
    elif kind == 'spoof-ip-bcast':
        frames = [eth(BC, smac, 0x0800, ipv4(tip, '255.255.255.255', 17, udp4(40000, 9, data)))]
    elif kind == 'arp-poison':
        # gratuitous ARP reply: "192.168.100.1 is at my MAC"
        frames = [eth(BC, smac, 0x0806, arp(2, smac, GW, BC, GW, data))]
    elif kind == 'arp-poison-vm':
        frames = [eth(BC, smac, 0x0806, arp(2, smac, tip, BC, tip, data))]
    elif kind == 'arp-sha-spoof':
        frames = [eth(BC, smac, 0x0806, arp(1, '02:66:66:66:66:66', sip, '00:00:00:00:00:00', GW, data))]
    elif kind == 'arp-req-gw':
        frames = [eth(BC, smac, 0x0806, arp(1, smac, sip, '00:00:00:00:00:00', GW, data))]
    elif kind == 'arp-probe':
        frames = [eth(BC, smac, 0x0806, arp(1, smac, '0.0.0.0', '00:00:00:00:00:00', sip, data))]
    elif kind == 'arp-req-vm':
        frames = [eth(BC, smac, 0x0806, arp(1, smac, sip, '00:00:00:00:00:00', tip, data))]
    elif kind == 'rarp':
        frames = [eth(BC, smac, 0x8035, arp(3, smac, '0.0.0.0', smac, '0.0.0.0', data))]
    elif kind == 'dhcp-discover':
        frames = [eth(BC, smac, 0x0800, ipv4('0.0.0.0', '255.255.255.255', 17, udp4(68, 67, bootp(1, smac, 1, data))))]
    elif kind == 'dhcp-from-0-to-vm':
        frames = [eth(tmac, smac, 0x0800, ipv4('0.0.0.0', tip, 17, udp4(68, 67, data)))]
    elif kind == 'dhcp-offer':
        frames = [eth(BC, smac, 0x0800, ipv4(sip, '255.255.255.255', 17, udp4(67, 68, data)))]
    elif kind == 'dhcp-offer-unicast':
        frames = [eth(tmac, smac, 0x0800, ipv4(sip, tip, 17, udp4(67, 68, data)))]
    elif kind == 'ra':
        src = ll6(smac)
        rest = struct.pack('!BBHII', 64, 0, 1800, 0, 0) + struct.pack('!BB', 253, 3) + data[:22].ljust(22, b'\0')
        frames = [eth('33:33:00:00:00:01', smac, 0x86dd, icmp6(src, 'ff02::1', 134, 0, rest))]
    elif kind == 'dhcpv6-reply':
        frames = [eth('33:33:00:00:00:01', smac, 0x86dd, udp6(ll6(smac), 'ff02::1', 547, 546, data))]
    elif kind == 'ip6-ping':
        frames = [eth('33:33:00:00:00:01', smac, 0x86dd, icmp6(ll6(smac), 'ff02::1', 128, 0, struct.pack('!HH', 7, 1) + data))]
    elif kind == 'ip6-vm':
        frames = [eth(tmac, smac, 0x86dd, udp6(ll6(smac), ll6(tmac), 40000, 9, data))]
    elif kind == 'vlan':
        frames = [vlan(BC, smac, 5, 0x0800, ipv4(sip, '255.255.255.255', 17, udp4(40000, 9, data)))]
    elif kind == 'vlan-gw':
        frames = [vlan(GWMAC, smac, 5, 0x0800, ipv4(sip, GW, 17, udp4(40000, 9, data)))]
    elif kind == 'ping-vm':
        frames = [eth(tmac, smac, 0x0800, ipv4(sip, tip, 1, icmp_echo(0x4242, 1, data)))]
    elif kind == 'bcast':
        frames = [eth(BC, smac, 0x0800, ipv4(sip, '255.255.255.255', 17, udp4(40000, 9, data)))]
    elif kind == 'mcast':
        frames = [eth('01:00:5e:00:00:fb', smac, 0x0800, ipv4(sip, '224.0.0.251', 17, udp4(5353, 5353, data)))]
    elif kind == 'bcast-flood':
        # DHCP DISCOVERs: broadcasts an isolated VM may send, up to its limit
        frames = [eth(BC, smac, 0x0800, ipv4('0.0.0.0', '255.255.255.255', 17, udp4(68, 67, bootp(1, smac, 1, data))))] * 500
    elif kind == 'hairpin':
        # to the gateway's MAC, for VM `to`'s address: the host routes it back out
        frames = [eth(GWMAC, smac, 0x0800, ipv4(sip, tip, 17, udp4(40000, 9, data)))]
    elif kind == 'host-dhcp-reply':
        # the host (gateway = DHCP server) answers VM `to`
        frames = [eth(tmac, GWMAC, 0x0800, ipv4(GW, tip, 17, udp4(67, 68, data)))]
    elif kind == 'host-arp-foreign':
        # ARP to VM `to` from a sender isolated VMs may not talk to (what a VM
        # on another host sends arrives like this, through a non-tap port)
        frames = [eth(tmac, GWMAC, 0x0806, arp(1, GWMAC, '10.99.0.1', '00:00:00:00:00:00', tip, data))]
    elif kind == 'host-arp-gw':
        frames = [eth(tmac, GWMAC, 0x0806, arp(1, GWMAC, GW, '00:00:00:00:00:00', tip, data))]
    elif kind == 'host-foreign':
        # the host sends VM `to` a packet from an address isolated VMs may not talk to
        frames = [eth(tmac, GWMAC, 0x0800, ipv4('10.99.0.1', tip, 17, udp4(40000, 9, data)))]
    else:
        sys.exit('unknown probe ' + kind)

    if kind.startswith('host-'):
        tx = in_ns(pfx + 'h', lambda: packet_socket('vbr0'))
    else:
        tx = in_ns(pfx + 'v%d' % frm, lambda: packet_socket('eth0'))
    tx.setblocking(True)
    for f in frames:
        tx.send(f)
    if kind in ('ping-vm', 'hairpin'):
        wait = 0.6
    counts = {k: 0 for k in rx}
    socks = {s: k for k, s in rx.items()}
    end = time.time() + wait
    while True:
        left = end - time.time()
        if left <= 0:
            break
        r, _, _ = select.select(list(socks), [], [], left)
        for s in r:
            while True:
                try:
                    pkt, addr = s.recvfrom(65536)
                except BlockingIOError:
                    break
                if addr[2] != PACKET_OUTGOING and marker in pkt:
                    counts[socks[s]] += 1
    print(' '.join('%s=%d' % (k, v) for k, v in counts.items()))

main()
PY
probe() { python3 "$W/probe.py" "$PFX" "$@"; }

# expect_ok NAME -- command...: exit status 0 and no output
expect_ok() {
    local name=$1 out rc; shift 2
    out=$("$@" 2>&1); rc=$?
    if [ $rc -eq 0 ] && [ -z "$out" ]; then ok 0 "$name"; else ok 1 "$name"; diag "rc=$rc:" "$out"; fi
}

# check NAME "br=0 vm2=1 br<=200 ..." KIND FROM [TO]: each condition over the counts
check() {
    local name=$1 want=$2; shift 2
    local out cond key op val got bad=0
    out=$(probe "$@" 2>&1)
    for cond in $want; do
        if [[ $cond =~ ^([a-z0-9]+)(<=|>=|=)([0-9]+)$ ]]; then
            key=${BASH_REMATCH[1]} op=${BASH_REMATCH[2]} val=${BASH_REMATCH[3]}
            got=$(printf '%s\n' "$out" | tr ' ' '\n' | sed -n "s/^$key=//p")
            [ -n "$got" ] || { bad=1; continue; }
            case $op in
            '=') [ "$got" -eq "$val" ] || bad=1 ;;
            '<=') [ "$got" -le "$val" ] || bad=1 ;;
            '>=') [ "$got" -ge "$val" ] || bad=1 ;;
            esac
        else
            bad=1
        fi
    done
    ok $bad "$name"
    [ $bad -eq 0 ] || diag "wanted: $want" "got:    $out"
}

# ---- namespaces: host with bridge, four veth VMs -----------------------
ip netns add "$H" || { echo "Bail out! cannot create a network namespace"; exit 1; }
NS_MADE+=("$H")
hx ip link set lo up
hx ip link add vbr0 address "$GWMAC" type bridge stp_state 0 forward_delay 0
hx ip addr add 192.168.100.1/24 dev vbr0
hx ip link set vbr0 up
hx sysctl -qw net.ipv4.ip_forward=1
hx ip route add 10.0.0.0/8 dev vbr0 2>/dev/null # "beyond the gateway": nowhere, only routed
for n in 1 2 3 4; do
    ip netns add "${PFX}v$n" && NS_MADE+=("${PFX}v$n")
    hx ip link add "vmb$n" type veth peer name eth0 netns "${PFX}v$n"
    hx ip link set "vmb$n" master vbr0 up
    ip netns exec "${PFX}v$n" ip link set lo up
    ip netns exec "${PFX}v$n" ip link set eth0 address "$(vm_mac $n)" up
    ip netns exec "${PFX}v$n" ip addr add "$(vm_ip $n)/24" dev eth0
    ip netns exec "${PFX}v$n" ip route add default via 192.168.100.1
done
# the DHCP server elsewhere on the segment: a port that is not a VM's tap
ip netns add "$S" && NS_MADE+=("$S")
hx ip link add srvp type veth peer name eth0 netns "$S"
hx ip link set srvp master vbr0 up
ip netns exec "$S" ip link set lo up
ip netns exec "$S" ip link set eth0 address "$SRVMAC" up
ip netns exec "$S" ip addr add "$SRVIP/24" dev eth0
# the ports must be forwarding before frames count
wait_for 10 bash -c "ip netns exec $H bridge link show | grep -c 'state forwarding' | grep -qx 5" ||
    diag "bridge ports not forwarding yet"

VMS_OPEN="vmb1,$(vm_mac 1),$(vm_ip 1),open vmb2,$(vm_mac 2),$(vm_ip 2),open vmb3,$(vm_mac 3),$(vm_ip 3),open"
VMS_ISO="vmb1,$(vm_mac 1),$(vm_ip 1),iso vmb2,$(vm_mac 2),$(vm_ip 2),iso vmb3,$(vm_mac 3),$(vm_ip 3),iso"

# the others' rules that must survive ours
add_foreign() {
    hx nft -f - <<'NFT'
table inet vmbf_other {
    chain input {
        type filter hook input priority 0; policy accept;
        counter comment "foreign"
    }
}
table bridge vmbf_other {
    chain fw {
        type filter hook forward priority 10; policy accept;
        ether type 0x88b5 counter drop comment "foreign"
    }
}
NFT
    hx ebtables-nft -t filter -A FORWARD -p 0x88b6 -j DROP
}
foreign_ok() {
    hx nft list table inet vmbf_other >/dev/null 2>&1 &&
        hx nft list table bridge vmbf_other 2>/dev/null | grep -q 'comment "foreign"' &&
        hx ebtables-nft -t filter -L FORWARD | grep -q -- '-p 0x88b6 -j DROP'
}

# ---- what every VM must withstand, isolated or not ----------------------
every_vm_checks() { # MODE
    local m=$1
    check "$B/$m: spoofed source MAC to the gateway dropped" "br=0" spoof-mac-gw 1
    check "$B/$m: spoofed source MAC to a VM dropped" "vm2=0 br=0" spoof-mac-vm 1 2
    check "$B/$m: another VM's MAC and IP claimed: dropped" "br=0" spoof-mac-other-vm 1 2
    ok "$(! hx bridge fdb show br vbr0 | grep -q "$(vm_mac 2) dev vmb1"; echo $?)" \
        "$B/$m: ... and the bridge did not learn that MAC on the sender's port"
    check "$B/$m: spoofed source IP to the gateway dropped" "br=0" spoof-ip-gw 1
    check "$B/$m: spoofed source IP to a VM dropped" "vm2=0 br=0" spoof-ip-vm 1 2
    check "$B/$m: broadcast with another VM's IP dropped" "br=0 vm3=0" spoof-ip-bcast 1 2
    check "$B/$m: ARP reply claiming the gateway's IP dropped" "br=0 vm2=0 vm3=0" arp-poison 1
    check "$B/$m: ARP claiming another VM's IP dropped" "br=0 vm3=0" arp-poison-vm 1 2
    check "$B/$m: ARP with a foreign sender MAC dropped" "br=0 vm2=0" arp-sha-spoof 1
    check "$B/$m: DHCP OFFER (udp 67->68) broadcast dropped" "br=0 vm2=0 vm3=0" dhcp-offer 1
    check "$B/$m: DHCP OFFER unicast to a VM dropped" "vm2=0" dhcp-offer-unicast 1 2
    check "$B/$m: IPv6 router advertisement dropped" "br=0 vm2=0 vm3=0" ra 1
    check "$B/$m: DHCPv6 server reply (udp 547->546) dropped" "br=0 vm2=0 vm3=0" dhcpv6-reply 1
    check "$B/$m: VLAN-tagged broadcast dropped" "br=0 vm2=0 vm3=0" vlan 1
    check "$B/$m: VLAN-tagged frame to the gateway dropped" "br=0" vlan-gw 1
    check "$B/$m: RARP dropped" "br=0 vm2=0" rarp 1
    check "$B/$m: a tap without rules (vmb4) is closed" "br=0 vm1=0" bcast 4
    check "$B/$m: source 0.0.0.0 other than a DHCP broadcast dropped" "vm2=0" dhcp-from-0-to-vm 1 2
    # what must keep working
    check "$B/$m: UDP to the gateway's DNS port passes" "br=1" udp-gw 1
    check "$B/$m: DHCP DISCOVER from 0.0.0.0 reaches the host" "br=1" dhcp-discover 1
    check "$B/$m: DHCP REQUEST with its own chaddr reaches the host" "br=1" dhcp-request 1
    check "$B/$m: TCP SYN to the gateway's DNS port passes" "br=1" tcp-syn-gw 1 2 53
    check "$B/$m: TCP SYN to an allowed host port (tcp/2223) passes" "br=1" tcp-syn-gw 1 2 2223
    check "$B/$m: DNS to the DHCP server elsewhere passes" "srv=1" udp-srv-dns 1
    ebt_cant "$B/$m: a TCP answer (SYN+ACK) to the host passes" "br=1" \
        "ebtables has no TCP flags match: it drops TCP to a host port not allowed, answers too" tcp-synack-gw 1 2 2222
    new_attack_checks "$B/$m"
    if [ "$m" = off ]; then
        check "$B/$m: IPv6 neighbour solicitation for another VM passes" "vm2=1" ns-resolve 1 2
        ebt_cant "$B/$m: its own neighbour advertisement passes" "vm2=1 br=1" \
            "ebtables cannot match the ND target: it drops every neighbour advertisement" na-own 1 2
        ebt_cant "$B/$m: duplicate address detection (NS from ::) passes" "vm2=1" \
            "ebtables cannot match the ND target: it drops IPv6 from :: too" ns-dad 1 2
    fi
    check "$B/$m: ARP probe (sender 0.0.0.0) reaches the host" "br=1" arp-probe 1
    check "$B/$m: ARP request for the gateway reaches the host" "br=1" arp-req-gw 1
    check "$B/$m: the host's DHCP reply reaches the VM" "vm1=1" host-dhcp-reply 0 1
    hx ip neigh flush dev vbr0 2>/dev/null
    ip netns exec "${PFX}v1" ip neigh flush dev eth0 2>/dev/null
    expect_out "$B/$m: kernel ping of the gateway (with ARP) answered" '^reply=1$' -- probe kping 1 192.168.100.1
    expect_out "$B/$m: kernel TCP connect to the allowed host port 192.168.100.1:2223 works" \
        '^connected=1 accepted=1$' -- probe kconnect 1 192.168.100.1 2223
}

# ebt_cant NAME WANT REASON KIND FROM [TO [PORT]]: a check the ebtables backend cannot make
# (a counted skip with the reason there)
ebt_cant() {
    local name=$1 want=$2 why=$3; shift 3
    if [ "$B" = ebtables ]; then ok 0 "$name # SKIP $why"; else check "$name" "$want" "$@"; fi
}

# ---- the attacks of issue 11, for every VM: dropped with filters, through without ----
# B=none: the same probes with no rules at all (they pass: none passes by accident)
new_attack_checks() { # NAME-PREFIX
    local m=$1 z=0 e="=0"
    [ "$B" = none ] && z=1 e=">=1" # no rules: a probe may also draw answers that carry its marker
    local nochaddr="ebtables cannot match the BOOTP chaddr (UDP payload)"
    ebt_cant "$m: DHCP DECLINE naming another VM's chaddr" "br$e" "$nochaddr" dhcp-decline-foreign 1 2
    ebt_cant "$m: DHCP RELEASE naming another VM's chaddr" "br$e" "$nochaddr" dhcp-release-foreign 1 2
    ebt_cant "$m: DHCP DISCOVER with another VM's chaddr" "br$e" "$nochaddr" dhcp-discover-foreign 1 2
    ebt_cant "$m: first fragment of a DHCP client message" "br$e" "$nochaddr (nor fragments of it)" dhcp-frag 1
    check "$m: DHCP OFFER from port 6767 to 68, broadcast" "vm2$e vm3$e" dhcp-offer-6767 1 2
    check "$m: DHCP OFFER from port 6767 to 68, to a VM" "vm2$e" dhcp-offer-6767-unicast 1 2
    check "$m: DHCPv6 message from port 6767 to 546" "vm2$e br$e" dhcpv6-6767 1 2
    check "$m: IPv6 from a made-up link-local source" "vm2$e br$e" ip6-spoof 1
    check "$m: IPv6 from another VM's link-local source" "vm2$e br$e" ip6-spoof-vm 1 2
    check "$m: neighbour advertisement for another VM's address" "vm2$e vm3$e br$e" na-foreign 1 2
    check "$m: TCP SYN to 192.168.100.1:2222" "br$e" tcp-syn-gw 1 2 2222
    check "$m: TCP SYN to the gateway's IPv6 link-local address, port 2222" "br$e" tcp6-syn-gw 1 2 2222
    check "$m: UDP to the gateway's port 9" "br$e" udp-gw-port 1 2 9
    check "$m: UDP to the subnet broadcast address, in a frame for the gateway" "br$e" udp-subnet-bcast 1
    check "$m: TCP SYN to port 2222 of the DHCP server elsewhere" "srv$e" tcp-syn-srv 1 2 2222
    expect_out "$m: kernel TCP connect to a listener on 192.168.100.1:2222" \
        "^connected=$z accepted=$z\$" -- probe kconnect 1 192.168.100.1 2222
}

# ---- where isolation matters: ISO=1 dropped, ISO=0 passes ---------------
iso_checks() { # MODE ISO
    local m=$1 iso=$2 pass=$((1 - $2))
    check "$B/$m: unicast to another VM" "vm2=$pass" udp-vm 1 2
    check "$B/$m: ping frame to another VM and its reply" "vm2=$pass vm1=$pass" ping-vm 1 2
    # the host itself never gets them: no host service for guests but DHCP, DNS, ping
    check "$B/$m: UDP broadcast (not DHCP) reaches other VMs (not the host)" "vm2=$pass vm3=$pass br=0" bcast 1
    check "$B/$m: multicast reaches other VMs (not the host)" "vm2=$pass br=0" mcast 1
    check "$B/$m: ARP request for another VM reaches it" "vm2=$pass br=1" arp-req-vm 1 2
    check "$B/$m: IPv6 multicast ping" "vm2=$pass br=$pass" ip6-ping 1
    check "$B/$m: IPv6 unicast to another VM" "vm2=$pass" ip6-vm 1 2
    check "$B/$m: routed through the host to another VM (hairpin)" "vm2=$pass br=$pass" hairpin 1 2
    check "$B/$m: UDP to an allow-listed address via the gateway" "br=1" udp-allowed 1
    check "$B/$m: UDP to an address not allowed via the gateway" "br=$pass" udp-internet 1
    check "$B/$m: host sends from an address not allowed" "vm1=$pass" host-foreign 0 1
    check "$B/$m: ARP from a sender not allowed" "vm1=$pass" host-arp-foreign 0 1
    check "$B/$m: ARP from the gateway" "vm1=1" host-arp-gw 0 1
    ip netns exec "${PFX}v1" ip neigh flush dev eth0 2>/dev/null
    ip netns exec "${PFX}v2" ip neigh flush dev eth0 2>/dev/null
    expect_out "$B/$m: kernel ping of another VM" "^reply=$pass\$" -- probe kping 1 "$(vm_ip 2)"
    if [ "$iso" -eq 1 ]; then
        check "$B/$m: broadcast flood of 500 DHCP DISCOVERs limited (100/s)" "br<=200 br>=50 vm2=0" bcast-flood 1
    else
        check "$B/$m: broadcast flood of 500 DHCP DISCOVERs not limited" "br>=490 vm2>=490" bcast-flood 1
    fi
    sleep 1.2 # the broadcast meter refills before the next probes
}

# ---- a VM group that enables IPv6 (vmb1, open): global and ULA sources ----
# with the VM's own interface identifier pass, any other still dropped; the
# same probes with the group's IPv6 off are dropped (each the other's control)
ipv6_group_checks() {
    local m=$B/ipv6 nond="ebtables cannot match the ND target: it drops every neighbour advertisement"
    check "$m off: global source with its own EUI-64 interface identifier dropped" "vm2=0 br=0" ip6-global-own 1
    check "$m off: ULA source with its own interface identifier dropped" "vm2=0 br=0" ip6-ula-own 1
    check "$m off: unicast from its global address to another VM dropped" "vm2=0" ip6-global-vm 1 2
    check "$m off: its link-local source passes" "vm2=1" ip6-ping 1
    expect_ok "$m: vmb1's VM group enables IPv6 (add open+ipv6)" -- \
        ft "${ALLOW[@]}" "$B" add vmb1 "$(vm_mac 1)" "$(vm_ip 1)" open+ipv6
    check "$m on: global source with its own EUI-64 interface identifier passes" "vm2=1 br=1" ip6-global-own 1
    check "$m on: ULA source with its own interface identifier passes" "vm2=1 br=1" ip6-ula-own 1
    check "$m on: unicast from its global address to another VM passes" "vm2=1" ip6-global-vm 1 2
    check "$m on: its link-local source still passes" "vm2=1" ip6-ping 1
    check "$m on: global source with another VM's interface identifier dropped" "vm2=0 br=0" ip6-global-foreign 1 2
    check "$m on: global source with a made-up interface identifier dropped" "vm2=0 br=0" ip6-global-madeup 1
    check "$m on: a made-up link-local source still dropped" "vm2=0 br=0" ip6-spoof 1
    check "$m on: another VM's link-local source still dropped" "vm2=0 br=0" ip6-spoof-vm 1 2
    check "$m on: router advertisement still dropped" "vm2=0 br=0" ra 1
    check "$m on: DHCPv6 server reply from its global address dropped" "vm2=0 br=0" dhcpv6-reply-global 1
    check "$m on: neighbour advertisement for another VM's global address dropped" "vm2=0 vm3=0 br=0" na-global-foreign 1 2
    check "$m on: neighbour advertisement for another VM's link-local address dropped" "vm2=0 vm3=0 br=0" na-foreign 1 2
    check "$m on: DAD (from ::) for another VM's global address dropped" "vm2=0" ns-dad-global-foreign 1 2
    ebt_cant "$m on: neighbour advertisement for its own global address passes" "vm2=1" "$nond" na-global-own 1 2
    ebt_cant "$m on: DAD (from ::) of its own global address passes" "vm2=1" \
        "ebtables cannot match the ND target: it drops IPv6 from :: too" ns-dad-global 1 2
    # an isolated VM gets no IPv6, whatever its group says
    ft "${ALLOW[@]}" "$B" add vmb1 "$(vm_mac 1)" "$(vm_ip 1)" iso+ipv6
    check "$m on, isolated: global source with its own interface identifier dropped" "vm2=0 br=0" ip6-global-own 1
    # back to the group without IPv6
    ft "${ALLOW[@]}" "$B" add vmb1 "$(vm_mac 1)" "$(vm_ip 1)" open
    check "$m off again: global source with its own interface identifier dropped" "vm2=0 br=0" ip6-global-own 1
    check "$m off again: its link-local source passes" "vm2=1" ip6-ping 1
}

ALLOW=(--allow 10.9.0.0/16 --dhcp "$SRVIP" --dhcp-mac "$SRVMAC" --host-port tcp/2223)

for B in nft ebtables; do
    # a clean slate in our namespace, and others' rules to keep
    hx nft flush ruleset
    add_foreign

    expect_ok "$B: setup" -- ft "${ALLOW[@]}" "$B" setup
    expect_ok "$B: setup again (idempotent)" -- ft "${ALLOW[@]}" "$B" setup
    expect_ok "$B: nothing listed yet" -- ft "$B" list
    check "$B: before filter_add a tap is closed" "br=0 vm2=0" bcast 1

    # isolation off, VMs added one by one
    for n in 1 2 3; do
        expect_ok "$B: add vmb$n open" -- ft "${ALLOW[@]}" "$B" add "vmb$n" "$(vm_mac $n)" "$(vm_ip $n)" open
    done
    expect_out "$B: list shows vmb1..vmb3" '^vmb1 vmb2 vmb3$' -- bash -c "ip netns exec $H $TOOL $B list | tr '\n' ' ' | sed 's/ \$//'"
    every_vm_checks off
    iso_checks off 0
    ipv6_group_checks

    # isolation on, switched by sync
    # shellcheck disable=SC2086
    expect_ok "$B: sync to three isolated VMs" -- ft "${ALLOW[@]}" "$B" sync $VMS_ISO
    every_vm_checks on
    iso_checks on 1

    # mixed: vmb2 isolated, vmb1 and vmb3 open (add replaces)
    ft "${ALLOW[@]}" "$B" add vmb1 "$(vm_mac 1)" "$(vm_ip 1)" open
    ft "${ALLOW[@]}" "$B" add vmb3 "$(vm_mac 3)" "$(vm_ip 3)" open
    check "$B/mixed: open VM to isolated VM dropped" "vm2=0" udp-vm 1 2
    check "$B/mixed: isolated VM to open VM dropped" "vm1=0" udp-vm 2 1
    check "$B/mixed: open VM to open VM passes" "vm3=1" udp-vm 1 3
    check "$B/mixed: broadcast of an open VM: not to the isolated one (nor to the host)" "vm2=0 vm3=1 br=0" bcast 1
    check "$B/mixed: hairpin to the isolated VM dropped" "vm2=0" hairpin 1 2
    check "$B/mixed: hairpin to an open VM passes" "vm3=1" hairpin 1 3
    ip netns exec "${PFX}v1" ip neigh flush dev eth0 2>/dev/null
    expect_out "$B/mixed: kernel ping open -> isolated fails" '^reply=0$' -- probe kping 1 "$(vm_ip 2)"
    expect_out "$B/mixed: kernel ping open -> open answered" '^reply=1$' -- probe kping 1 "$(vm_ip 3)"

    # a changed allocation replaces the old one
    ft "${ALLOW[@]}" "$B" add vmb3 de:af:de:af:64:33 "$(vm_ip 3)" open
    check "$B: after re-adding vmb3 with another MAC its old MAC is dropped" "br=0" udp-gw 3
    ft "${ALLOW[@]}" "$B" add vmb3 "$(vm_mac 3)" "$(vm_ip 3)" open
    check "$B: and with its MAC back it passes" "br=1" udp-gw 3

    # remove
    expect_ok "$B: remove vmb3" -- ft "$B" remove vmb3
    expect_ok "$B: remove vmb3 again (idempotent)" -- ft "$B" remove vmb3
    expect_out "$B: list without vmb3" '^vmb1 vmb2$' -- bash -c "ip netns exec $H $TOOL $B list | tr '\n' ' ' | sed 's/ \$//'"
    check "$B: a removed VM's tap is closed" "br=0" udp-gw 3

    # sync with nothing to do writes nothing
    ft "${ALLOW[@]}" "$B" sync "vmb1,$(vm_mac 1),$(vm_ip 1),open" "vmb2,$(vm_mac 2),$(vm_ip 2),iso"
    if [ "$B" = nft ]; then
        before=$(hx nft -a list table bridge vmbatch | grep -o 'handle [0-9]*' | tr '\n' ' ')
        ft "${ALLOW[@]}" "$B" sync "vmb1,$(vm_mac 1),$(vm_ip 1),open" "vmb2,$(vm_mac 2),$(vm_ip 2),iso"
        after=$(hx nft -a list table bridge vmbatch | grep -o 'handle [0-9]*' | tr '\n' ' ')
        ok "$([ -n "$before" ] && [ "$before" = "$after" ]; echo $?)" "$B: sync with nothing to do rewrites nothing"
    else
        check "$B: (counted traffic)" "br=1" udp-gw 1
        before=$(hx ebtables-nft -t filter -L --Lc | grep -c 'pcnt = [1-9]')
        ft "${ALLOW[@]}" "$B" sync "vmb1,$(vm_mac 1),$(vm_ip 1),open" "vmb2,$(vm_mac 2),$(vm_ip 2),iso"
        after=$(hx ebtables-nft -t filter -L --Lc | grep -c 'pcnt = [1-9]')
        ok "$([ "$before" -gt 0 ] && [ "$before" = "$after" ]; echo $?)" "$B: sync with nothing to do rewrites nothing (counters kept)"
    fi
    # a rule of ours deleted by hand: sync puts it back
    if [ "$B" = nft ]; then
        h=$(hx nft -a list chain bridge vmbatch from_vm_ip4 | sed -n 's/.*IP spoofing.*handle \([0-9]*\)$/\1/p')
        hx nft delete rule bridge vmbatch from_vm_ip4 handle "$h"
    else
        hx ebtables-nft -t nat -D vmb-proto -p IPv4 --ip-proto udp --ip-dport 68 -j DROP || diag "could not delete a rule"
    fi
    if [ "$B" = nft ]; then probe_kind="spoof-ip-gw 1" seen=br; else probe_kind="dhcp-offer-6767-unicast 1 3" seen=vm3; fi
    # shellcheck disable=SC2086
    check "$B: with one of our rules deleted by hand its attack passes" "$seen=1" $probe_kind
    ft "${ALLOW[@]}" "$B" sync "vmb1,$(vm_mac 1),$(vm_ip 1),open" "vmb2,$(vm_mac 2),$(vm_ip 2),iso"
    # shellcheck disable=SC2086
    check "$B: sync restores the deleted rule" "$seen=0" $probe_kind

    ok "$(foreign_ok; echo $?)" "$B: others' tables and rules survived setup/add/remove/sync"

    # someone flushes everything: sync re-creates it
    hx nft flush ruleset
    expect_ok "$B: after nft flush ruleset nothing is listed" -- ft "$B" list
    check "$B: after the flush a spoofed frame passes (no rules)" "br=1" spoof-ip-gw 1
    # shellcheck disable=SC2086
    expect_ok "$B: sync after the flush" -- ft "${ALLOW[@]}" "$B" sync $VMS_ISO
    expect_out "$B: list after the sync" '^vmb1 vmb2 vmb3$' -- bash -c "ip netns exec $H $TOOL $B list | tr '\n' ' ' | sed 's/ \$//'"
    check "$B: restored: spoofed source IP dropped" "br=0" spoof-ip-gw 1
    check "$B: restored: VM to VM dropped" "vm2=0" udp-vm 1 2
    check "$B: restored: UDP to the gateway passes" "br=1" udp-gw 1

    # argument checks
    expect_fail "$B: bad MAC refused" 'invalid MAC' -- ft "$B" add vmb1 de:af:de:af:64 "$(vm_ip 1)" open
    expect_fail "$B: multicast MAC refused" 'invalid MAC' -- ft "$B" add vmb1 01:00:5e:00:00:01 "$(vm_ip 1)" open
    expect_fail "$B: bad IP refused" 'invalid IPv4' -- ft "$B" add vmb1 "$(vm_mac 1)" 192.168.100.300 open
    expect_fail "$B: tap name not vmb* refused" 'invalid tap' -- ft "$B" add eth0 "$(vm_mac 1)" "$(vm_ip 1)" open
    expect_fail "$B: tap name with a wildcard refused" 'invalid tap' -- ft "$B" add 'vmb*' "$(vm_mac 1)" "$(vm_ip 1)" open
done

# the control: no rules at all (filter_backend none), the attacks of issue 11 get through
B=none
hx nft flush ruleset
expect_ok "none: nothing listed" -- ft none list
new_attack_checks none

# unknown backend
expect_fail "unknown backend refused" 'unknown backend' -- ft iptables list
tap_done
