// fan-sink PORT SOCKETS: connects SOCKETS connections and reads them all with epoll until each closes.
#include "floor.h"
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: fan-sink PORT SOCKETS\n"); return 64; }
    int port = atoi(argv[1]), n = atoi(argv[2]), ep = epoll_create1(0);
    for (int i = 0; i < n; i++) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        for (int k = 0; connect(c, (void *)&a, sizeof a); k++) {
            if (k == 500) { perror("fan-sink: connect"); return 71; }
            usleep(10000);
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = c};
        epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
    }
    char buf[65536];
    while (n > 0) {
        struct epoll_event out[64];
        int k = epoll_wait(ep, out, 64, -1);
        for (int i = 0; i < k; i++)
            if (read(out[i].data.fd, buf, sizeof buf) <= 0) { close(out[i].data.fd); n--; }
    }
    return 0;
}
