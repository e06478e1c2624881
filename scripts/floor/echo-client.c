// echo-client PORT MESSAGES RATE SERVER_PID: sends 100-byte messages at RATE per second (each at
// a random point of its slot), waits for each echo, then prints the server's CPU per message.
#include "floor.h"
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static int connect_loopback(int port) {
    int c = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    for (int i = 0; connect(c, (void *)&a, sizeof a); i++) {
        if (i == 500) { perror("echo-client: connect"); exit(71); }
        usleep(10000);
    }
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return c;
}

int main(int argc, char **argv) {
    if (argc < 5) { fprintf(stderr, "usage: echo-client PORT MESSAGES RATE SERVER_PID\n"); return 64; }
    int port = atoi(argv[1]), pid = atoi(argv[4]);
    long messages = atol(argv[2]);
    double rate = atof(argv[3]);
    rng_state = (uint64_t)getpid() * 0x9E3779B97F4A7C15ULL;
    int c = connect_loopback(port);
    char buf[100] = {0};
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    cpu_times before = cpu_of(pid);
    for (long k = 0; k < messages; k++) {
        wait_slot(&start, k, rate);
        if (write(c, buf, sizeof buf) != sizeof buf) return 1;
        size_t got = 0;
        while (got < sizeof buf) {
            ssize_t r = read(c, buf + got, sizeof buf - got);
            if (r <= 0) return 1;
            got += r;
        }
    }
    cpu_times after = cpu_of(pid);
    print_per("echo server", before, after, messages, "message");
    return 0;
}
