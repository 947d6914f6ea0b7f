/*
 * pxb-relay: the bench's "network" for the delay and loss scenarios.
 *
 * Why: this kernel has no netem, so delay and loss are made in user space. Two tun devices, one
 * in the client namespace and one in the server namespace, carry IP packets unchanged; this
 * relay copies them across. Client->server packets are held --delay-us (e.g. 1000 = 1 ms of
 * added RTT) and every Nth TFTP ACK (opcode 4) is dropped (--drop-every 500 = 0.2 % ACK loss,
 * deterministic so every server sees the same loss pattern). Server->client packets pass at
 * once. Written in C so the relay is never the bottleneck.
 *
 * usage: pxb-relay NETNS_PATH_C TUN_C NETNS_PATH_S TUN_S DELAY_US DROP_EVERY
 * Runs until SIGTERM/SIGINT, then prints its counters as JSON on stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#define SLOTS 16384
#define SLOT_BYTES 2048

struct slot {
    uint64_t due_ns;
    int len;
    unsigned char data[SLOT_BYTES];
};

static struct slot *ring;
static unsigned head, tail; /* ring[head..tail) queued, indices mod SLOTS */
static volatile sig_atomic_t stop;
static unsigned long long fwd_cs, fwd_sc, dropped_acks, dropped_full, acks_seen, max_q;

static void on_signal(int sig) { (void)sig; stop = 1; }

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int open_tun(const char *ns_path, const char *name) {
    int nsfd = open(ns_path, O_RDONLY | O_CLOEXEC);
    if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) < 0) { perror(ns_path); exit(2); }
    close(nsfd);
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) { perror("/dev/net/tun"); exit(2); }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) { perror("TUNSETIFF"); exit(2); }
    return fd;
}

/* A TFTP ACK: IPv4, UDP, first fragment, payload opcode 4. */
static int is_tftp_ack(const unsigned char *p, int n) {
    if (n < 20 || (p[0] >> 4) != 4 || p[9] != 17) return 0;
    if (((p[6] & 0x1f) | p[7]) != 0) return 0; /* a later fragment */
    int ihl = (p[0] & 0x0f) * 4;
    if (n < ihl + 8 + 4) return 0;
    return p[ihl + 8] == 0 && p[ihl + 9] == 4;
}

static void flush_due(int fd_s, uint64_t t) {
    while (head != tail && ring[head % SLOTS].due_ns <= t) {
        struct slot *s = &ring[head % SLOTS];
        if (write(fd_s, s->data, (size_t)s->len) > 0) fwd_cs++;
        head++;
    }
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: %s NETNS_C TUN_C NETNS_S TUN_S DELAY_US DROP_EVERY\n", argv[0]);
        return 2;
    }
    uint64_t delay_ns = (uint64_t)strtoull(argv[5], NULL, 10) * 1000ull;
    unsigned long long drop_every = strtoull(argv[6], NULL, 10);
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0); /* wake within ~1 us of the due time */
    int fd_c = open_tun(argv[1], argv[2]);
    int fd_s = open_tun(argv[3], argv[4]);
    ring = calloc(SLOTS, sizeof *ring);
    if (!ring) return 2;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    fprintf(stderr, "{\"ready\": true}\n");
    static unsigned char buf[65536];
    struct pollfd pfd[2] = {{.fd = fd_c, .events = POLLIN}, {.fd = fd_s, .events = POLLIN}};
    while (!stop) {
        struct timespec to = {.tv_sec = 0, .tv_nsec = 100000000}; /* 100 ms idle tick */
        uint64_t t = now_ns();
        if (head != tail) {
            uint64_t due = ring[head % SLOTS].due_ns;
            uint64_t wait = due > t ? due - t : 0;
            to.tv_sec = (time_t)(wait / 1000000000ull);
            to.tv_nsec = (long)(wait % 1000000000ull);
        }
        int r = ppoll(pfd, 2, &to, NULL);
        if (r < 0 && errno != EINTR) { perror("ppoll"); break; }
        t = now_ns();
        if (pfd[0].revents & POLLIN) {
            for (int k = 0; k < 256; k++) {
                ssize_t n = read(fd_c, buf, sizeof buf);
                if (n <= 0) break;
                if (drop_every && is_tftp_ack(buf, (int)n) && ++acks_seen % drop_every == 0) {
                    dropped_acks++;
                    continue;
                }
                if (delay_ns == 0 || n > SLOT_BYTES) {
                    if (write(fd_s, buf, (size_t)n) > 0) fwd_cs++;
                    continue;
                }
                if (tail - head >= SLOTS) { dropped_full++; continue; }
                struct slot *s = &ring[tail % SLOTS];
                s->due_ns = t + delay_ns;
                s->len = (int)n;
                memcpy(s->data, buf, (size_t)n);
                tail++;
                if (tail - head > max_q) max_q = tail - head;
            }
        }
        if (pfd[1].revents & POLLIN) {
            for (int k = 0; k < 256; k++) {
                ssize_t n = read(fd_s, buf, sizeof buf);
                if (n <= 0) break;
                if (write(fd_c, buf, (size_t)n) > 0) fwd_sc++;
            }
        }
        flush_due(fd_s, now_ns());
    }
    fprintf(stderr,
            "{\"forwarded_c2s\": %llu, \"forwarded_s2c\": %llu, \"dropped_acks\": %llu, "
            "\"acks_seen\": %llu, \"dropped_queue_full\": %llu, \"max_queue\": %llu}\n",
            fwd_cs, fwd_sc, dropped_acks, acks_seen, dropped_full, max_q);
    return 0;
}
