#!/usr/bin/env python3
"""tests/gdb/bridge.py - Bochs's COM2 socket (mode=socket-server accepts
one client for the whole run, and Bochs waits for it before it starts) to a
local port that gdb and tests/gdb/proto_test.py can connect to one after
the other (tests/run-gdb.sh --bochs). Bytes from the UART while no client
is connected are dropped.

usage: bridge.py BOCHS_PORT LISTEN_PORT
"""
import select, socket, sys, time

bport, lport = int(sys.argv[1]), int(sys.argv[2])
deadline = time.time() + 60
while True:
    try:
        up = socket.create_connection(('127.0.0.1', bport))
        break
    except OSError:
        if time.time() > deadline:
            sys.exit('bridge: Bochs never listened on %d' % bport)
        time.sleep(0.2)
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(('127.0.0.1', lport))
ls.listen(1)
client = None
while True:
    r, _, _ = select.select([up, ls] + ([client] if client else []), [], [])
    if ls in r:
        c, _ = ls.accept()
        if client:
            client.close()
        client = c
    if up in r:
        d = up.recv(65536)
        if not d:
            break
        if client:
            try:
                client.sendall(d)
            except OSError:
                client = None
    if client and client in r:
        try:
            d = client.recv(65536)
        except OSError:
            d = b''
        if not d:
            client.close()
            client = None
        else:
            up.sendall(d)
