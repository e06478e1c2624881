#!/usr/bin/env python3
"""The kernel's cost per WebSocket-sized send on this machine: the floor under a node's CPU per
delivery when every socket gets one message per event-loop tick (quiet hours).

A writer process holds N loopback TCP connections and sends one small frame to each of them per
round (as a node does with one message to N subscribers); a reader process reads them all with
epoll, as the bench's subscribers do. The writer's system time per send is the floor: the node
cannot spend less kernel time per delivery than one send() costs here (on loopback, the sender's
system call also runs the receiver's TCP processing).

    python3 scripts/kernel-floor.py [--sockets 100] [--rate 50] [--seconds 10] [--bytes 120]
"""
import argparse, os, select, socket, time

parser = argparse.ArgumentParser()
parser.add_argument("--sockets", type=int, default=100)
parser.add_argument("--rate", type=float, default=50, help="rounds per second (0: as fast as possible)")
parser.add_argument("--seconds", type=float, default=10)
parser.add_argument("--bytes", type=int, default=120)
args = parser.parse_args()

listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(args.sockets)
port = listener.getsockname()[1]

pid = os.fork()
if pid == 0:
    # The reader: connects N sockets and drains them until the writer closes them.
    readers = []
    for _ in range(args.sockets):
        s = socket.create_connection(("127.0.0.1", port))
        s.setblocking(False)
        readers.append(s)
    poller = select.epoll()
    for s in readers:
        poller.register(s.fileno(), select.EPOLLIN)
    by_fd = {s.fileno(): s for s in readers}
    open_count = len(readers)
    while open_count:
        for fd, _ in poller.poll():
            data = by_fd[fd].recv(65536)
            if not data:
                poller.unregister(fd)
                open_count -= 1
    os._exit(0)

writers = [listener.accept()[0] for _ in range(args.sockets)]
for s in writers:
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
frame = b"\x81" + bytes([args.bytes - 2]) + b"x" * (args.bytes - 2) if args.bytes < 127 else b"x" * args.bytes
before = os.times()
started = time.monotonic()
sends = 0
rounds = 0
while time.monotonic() - started < args.seconds:
    for s in writers:
        s.send(frame)
    sends += len(writers)
    rounds += 1
    if args.rate > 0:
        next_round = started + rounds / args.rate
        delay = next_round - time.monotonic()
        if delay > 0:
            time.sleep(delay)
after = os.times()
for s in writers:
    s.close()
os.waitpid(pid, 0)
system = (after.system - before.system) * 1e6 / sends
user = (after.user - before.user) * 1e6 / sends
print(f"{args.sockets} sockets, {rounds} rounds ({args.rate:g}/s), {sends} sends of {args.bytes} B: "
      f"writer system time {system:.2f} µs per send (user {user:.2f} µs, Python's own)")
