#!/usr/bin/env python3
"""tests/gdb/proto_test.py - the GDB stub's protocol under abuse, over the
QEMU TCP socket of COM2 (tests/run-gdb.sh, docs/debugging.md): malformed,
truncated and over-long packets, bad checksums, run-length encoding, reads
of hypervisor memory and of unmapped addresses, a dead thread, unknown
commands. Every one must get its reply (or a '-'), never a hang; then a
detach lets the guest run on. Prints PASS:/FAIL: lines.

usage: proto_test.py PORT HV_BASE [SLOW]  (HV_BASE: the hidden resident
region; SLOW: a factor for every timeout, e.g. 5 under Bochs)
"""
import socket, sys, time

port, hv_base = int(sys.argv[1]), int(sys.argv[2], 16)
slow = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
fails = 0


def result(name, ok, detail=''):
    global fails
    print(('PASS: ' if ok else 'FAIL: ') + 'gdb.proto.' + name + ('' if ok else ': ' + detail))
    fails += 0 if ok else 1


s = socket.create_connection(('127.0.0.1', port), timeout=5)
# Stale firmware output on COM2 from before hv.efi took the UART: drain.
s.settimeout(0.5)
try:
    while s.recv(65536):
        pass
except socket.timeout:
    pass
buf = b''


def recv_until(pred, timeout=10.0):
    global buf
    end = time.time() + timeout * slow
    while not pred(buf):
        left = end - time.time()
        if left <= 0:
            return False
        s.settimeout(left)
        try:
            d = s.recv(65536)
        except socket.timeout:
            return False
        if not d:
            return False
        buf += d
    return True


def frame(payload):
    if isinstance(payload, str):
        payload = payload.encode()
    return b'$' + payload + b'#%02x' % (sum(payload) & 0xff)


def packet(raw, timeout=10.0):
    """Send raw bytes; return (ack, reply payload or None)."""
    global buf
    buf = b''
    s.sendall(raw)
    if not recv_until(lambda b: b[:1] in (b'-',) or (b'#' in b and len(b) >= b.index(b'#') + 3 and b'$' in b), timeout):
        return (buf[:1], None)
    if buf[:1] == b'-':
        return (b'-', None)
    i, j = buf.index(b'$'), buf.index(b'#')
    ack = buf[:1]
    s.sendall(b'+')
    return (ack, buf[i + 1:j].decode(errors='replace'))


# The first packet stops the world (the guest ran until now).
ack, r = packet(frame('?'), timeout=20)
result('first_packet_stops', ack == b'+' and r is not None and r.startswith('T'), repr((ack, r)))
ack, r = packet(frame('qSupported:swbreak+'))
result('qsupported', r is not None and 'PacketSize=' in r and 'swbreak+' in r, repr(r))

# A bad checksum: '-', then the same packet right: served.
ack, r = packet(b'$qC#00')
result('bad_checksum_nak', ack == b'-', repr(ack))
ack, r = packet(frame('qC'))
result('retry_after_nak', r == 'QC1', repr(r))
# Non-hex checksum characters.
ack, r = packet(b'$qC#zz')
result('nonhex_checksum_nak', ack == b'-', repr(ack))
# '-' from us: the last packet again.
buf = b''
s.sendall(b'-')
result('retransmit_on_nak', recv_until(lambda b: b'$QC1#' in b, 5), repr(buf))
s.sendall(b'+')

# Truncated: a packet cut short, then a new one: the new one is answered.
ack, r = packet(b'$m' + b'%x' % hv_base + frame('qC'))
result('truncated_then_new', r == 'QC1', repr(r))
# Truncated, then silence: the stub forgets it after its timeout and
# serves the next packet.
buf = b''
s.sendall(b'$g00')
time.sleep(3 * slow)
ack, r = packet(frame('qC'))
result('truncated_then_timeout', r == 'QC1', repr(r))

# Over-long: E22, and the stub still works.
ack, r = packet(frame('M0,1:' + 'A' * 9000))
result('overlong_packet', ack == b'+' and r == 'E22', repr((ack, r)))
ack, r = packet(frame('m0,1' + '*' + ' '))
result('run_length_refused', r is not None and r.startswith('E'), repr(r))

# Malformed commands: an error reply each.
for i, cmd in enumerate(['m', 'mzz,4', 'm10,', 'M10,2:0', 'M10,1:zz', 'G00', 'pzz', 'P0=1', 'Hgzz',
            'Z0', 'Z0,zz,1', 'X10,2:a', 'qRcmd,6', 'vCont;x', 'c12z', 'T',
            'qXfer:features:read:target.xml:zz', 'm11111111111111111,1']):
    ack, r = packet(frame(cmd))
    result('malformed_%02d' % i, r is not None and r.startswith('E'), '%r -> %r' % (cmd, r))
ack, r = packet(frame('p3b'))
result('register_out_of_range', r == 'E16', repr(r))
ack, r = packet(frame('qTStatus'))
result('unknown_query_empty', r == '', repr(r))
ack, r = packet(frame('Z1,1000,1'))
result('hw_breakpoint_unsupported', r == '', repr(r))

# Memory the guest may not reach: the hypervisor's own (identity-mapped
# by the firmware's page tables) and a non-canonical/unmapped address.
ack, r = packet(frame('m%x,8' % (hv_base + 0x1000)))
result('hypervisor_memory_refused', r is not None and r.startswith('E'), repr(r))
ack, r = packet(frame('M%x,1:cc' % (hv_base + 0x1000)))
result('hypervisor_memory_write_refused', r is not None and r.startswith('E'), repr(r))
ack, r = packet(frame('Z0,%x,1' % (hv_base + 0x1000)))
result('hypervisor_memory_breakpoint_refused', r is not None and r.startswith('E'), repr(r))
ack, r = packet(frame('m800000000000,8'))
result('unmapped_memory', r is not None and r.startswith('E'), repr(r))
mon = 'phys %x 8' % (hv_base + 0x1000)
ack, r = packet(frame('qRcmd,' + mon.encode().hex()))
txt = bytes.fromhex(r).decode(errors='replace') if r and not r.startswith('E') else ''
result('monitor_phys_hypervisor_refused', 'not guest memory' in txt, repr(txt))
# A thread that does not exist.
ack, r = packet(frame('Hg63'))
result('dead_thread', r == 'E02', repr(r))
ack, r = packet(frame('T63'))
result('dead_thread_T', r == 'E02', repr(r))

# Random garbage between packets is ignored; the stub still answers.
buf = b''
s.sendall(bytes(range(1, 35)).replace(b'$', b'').replace(b'\x03', b''))
ack, r = packet(frame('qC'))
result('noise_ignored', r == 'QC1', repr(r))

ack, r = packet(frame('D'))
result('detach', r == 'OK', repr(r))
s.close()
print('proto_test: %d failed' % fails)
sys.exit(1 if fails else 0)
