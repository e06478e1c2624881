// fan-server PORT SOCKETS ROUNDS RATE: accepts SOCKETS connections, then ROUNDS times (RATE per
// second, at random points of their slots) writes one 40-byte frame to each; prints its own CPU
// per write (what a node's delivery to one socket costs at least: one send).
#include "floor.h"
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

int main(int argc, char **argv) {
    if (argc < 5) { fprintf(stderr, "usage: fan-server PORT SOCKETS ROUNDS RATE\n"); return 64; }
    int port = atoi(argv[1]), n = atoi(argv[2]), rounds = atoi(argv[3]), one = 1;
    double rate = atof(argv[4]);
    rng_state = (uint64_t)getpid() * 0x9E3779B97F4A7C15ULL;
    int l = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(l, (void *)&a, sizeof a) || listen(l, 1024)) { perror("fan-server"); return 71; }
    int *fds = calloc(n, sizeof(int));
    for (int i = 0; i < n; i++) {
        fds[i] = accept(l, NULL, NULL);
        setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    char frame[40] = {(char)0x81, 38};
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    cpu_times before = cpu_of(getpid());
    for (int r = 0; r < rounds; r++) {
        wait_slot(&start, r, rate);
        for (int i = 0; i < n; i++)
            if (write(fds[i], frame, sizeof frame) != sizeof frame) return 1;
    }
    cpu_times after = cpu_of(getpid());
    print_per("fan server", before, after, (double)n * rounds, "write");
    return 0;
}
