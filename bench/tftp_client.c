/*
 * pxb-tftpc: a small, fast TFTP read client for the benchmark.
 *
 * Why C: the benchmark measures servers, so the client must not be the bottleneck. One process
 * runs N concurrent transfers (one UDP socket each, as a real client would use its own port) in
 * a single epoll loop, asks for blksize / windowsize / tsize, and ACKs per RFC 7440 (after every
 * window, re-ACK the last in-order block on a gap or on a retransmitted window end).
 *
 * Why verify content: a server that sends wrong or shuffled blocks must not look fast. The bench
 * file holds, at every 8-byte aligned offset o, the little-endian u64 value o, so every block can
 * be checked in place at the cost of one compare per 8 bytes.
 *
 * Client-side retransmission is deliberately slow (--timeout-ms, default 5000): with ACK loss
 * the measured stall is the server's own retransmit timer, which is what the bench compares.
 *
 * Output: one JSON object on stdout. Exit 0 when every transfer completed and verified.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_XFERS 1024
#define MAX_PKT 65536

struct xfer {
    int fd;
    int done;
    int failed;
    int have_peer;
    int got_first;
    struct sockaddr_in peer;
    uint64_t expect;       /* next block, counted from 1, never wraps */
    uint64_t win_base;     /* last block we ACKed */
    uint64_t gap_acked;    /* expect value we already sent a gap ACK for */
    uint64_t bytes;
    int blksize;
    int wsize;
    int retries;
    double last_rx;
    double prev_rx;        /* time of the packet before the current one (-v stall report) */
    double t_done;
    unsigned char last[1024];
    int last_len;
    int last_to_server;    /* 1 while the last packet is the RRQ (to the listen port) */
    char err[160];
};

static struct xfer xs[MAX_XFERS];
static int verbose; /* -v: log every re-ACK, gap and timeout to stderr (diagnosing stalls) */
static double t_start;
static struct sockaddr_in server;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fail(struct xfer *x, const char *why) {
    if (x->done || x->failed) return;
    x->failed = 1;
    snprintf(x->err, sizeof x->err, "%s", why);
}

static void send_last(struct xfer *x) {
    const struct sockaddr_in *to = x->last_to_server ? &server : &x->peer;
    if (sendto(x->fd, x->last, (size_t)x->last_len, 0, (const struct sockaddr *)to,
               sizeof *to) < 0 && errno != EAGAIN && errno != ENOBUFS && errno != ECONNREFUSED)
        fail(x, "sendto failed");
}

static void send_ack(struct xfer *x, uint64_t block) {
    x->last[0] = 0;
    x->last[1] = 4;
    x->last[2] = (unsigned char)((block >> 8) & 0xff);
    x->last[3] = (unsigned char)(block & 0xff);
    x->last_len = 4;
    x->last_to_server = 0;
    send_last(x);
}

/* Check the in-place pattern: u64 little-endian value o at every aligned offset o. */
static int verify(const unsigned char *p, size_t len, uint64_t off) {
    uint64_t o = (off + 7) & ~(uint64_t)7;
    while (o + 8 <= off + len) {
        uint64_t v;
        memcpy(&v, p + (o - off), 8);
        if (v != o) return 0;
        o += 8;
    }
    return 1;
}

static void on_oack(struct xfer *x, const unsigned char *p, int n, long long expect_size) {
    if (x->got_first) { /* the server did not see our ACK 0: repeat it */
        if (x->expect == 1) send_ack(x, 0);
        return;
    }
    x->got_first = 1;
    x->blksize = 512;
    x->wsize = 1;
    int i = 2;
    while (i < n) {
        const char *name = (const char *)p + i;
        size_t nl = strnlen(name, (size_t)(n - i));
        if (i + (int)nl + 1 >= n) break;
        const char *val = name + nl + 1;
        size_t vl = strnlen(val, (size_t)(n - i - (int)nl - 1));
        if (strcasecmp(name, "blksize") == 0) x->blksize = atoi(val);
        else if (strcasecmp(name, "windowsize") == 0) x->wsize = atoi(val);
        else if (strcasecmp(name, "tsize") == 0 && expect_size >= 0 && atoll(val) != expect_size)
            fail(x, "tsize in OACK differs from the file size");
        i += (int)nl + 1 + (int)vl + 1;
    }
    if (x->blksize < 8 || x->blksize > 65464 || x->wsize < 1 || x->wsize > 65535)
        fail(x, "bad OACK values");
    send_ack(x, 0);
}

static void on_data(struct xfer *x, const unsigned char *p, int n, double t) {
    if (!x->got_first) { /* the server ignored our options: RFC 1350 defaults */
        x->got_first = 1;
        x->blksize = 512;
        x->wsize = 1;
    }
    uint16_t blk = (uint16_t)((p[2] << 8) | p[3]);
    int len = n - 4;
    int16_t diff = (int16_t)(uint16_t)(blk - (uint16_t)(x->expect & 0xffff));
    if (diff == 0) {
        if (len > x->blksize) { fail(x, "DATA larger than blksize"); return; }
        if (!verify(p + 4, (size_t)len, x->bytes)) { fail(x, "content mismatch"); return; }
        x->bytes += (uint64_t)len;
        x->expect++;
        if (len < x->blksize) {
            send_ack(x, x->expect - 1);
            x->done = 1;
            x->t_done = t;
        } else if (x->expect - 1 - x->win_base >= (uint64_t)x->wsize) {
            send_ack(x, x->expect - 1);
            x->win_base = x->expect - 1;
        }
    } else if (diff == -1) { /* the server repeated the block we have: our ACK was lost */
        if (verbose)
            fprintf(stderr, "%.6f xfer %ld: repeated block %llu, re-ACK (%.3f s since last rx)\n",
                    t - t_start, (long)(x - xs), (unsigned long long)(x->expect - 1),
                    t - x->prev_rx);
        send_ack(x, x->expect - 1);
        x->win_base = x->expect - 1;
    } else if (diff > 0 && x->gap_acked != x->expect) { /* a gap: restart the window */
        if (verbose)
            fprintf(stderr, "%.6f xfer %ld: gap, got %u expected %llu\n", t - t_start,
                    (long)(x - xs), blk, (unsigned long long)x->expect);
        send_ack(x, x->expect - 1);
        x->gap_acked = x->expect;
        x->win_base = x->expect - 1;
    }
}

static void usage(void) {
    fprintf(stderr,
            "usage: pxb-tftpc -H host -p port -f file -n clients -s size [-b blksize] "
            "[-w windowsize] [-z] [-t timeout_ms] [-r retries] [-d deadline_s] [-v]\n"
            "       blksize/windowsize 0 = do not ask; -z = also ask tsize\n");
    exit(2);
}

int main(int argc, char **argv) {
    const char *host = NULL, *file = NULL;
    int port = 69, nx = 1, blksize = 0, wsize = 0, tsize = 0, timeout_ms = 5000, retries = 6;
    long long size = -1;
    double deadline_s = 300.0;
    int c;
    while ((c = getopt(argc, argv, "H:p:f:n:s:b:w:zt:r:d:v")) != -1) {
        switch (c) {
        case 'H': host = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 'f': file = optarg; break;
        case 'n': nx = atoi(optarg); break;
        case 's': size = atoll(optarg); break;
        case 'b': blksize = atoi(optarg); break;
        case 'w': wsize = atoi(optarg); break;
        case 'z': tsize = 1; break;
        case 't': timeout_ms = atoi(optarg); break;
        case 'r': retries = atoi(optarg); break;
        case 'd': deadline_s = atof(optarg); break;
        case 'v': verbose = 1; break;
        default: usage();
        }
    }
    if (!host || !file || nx < 1 || nx > MAX_XFERS || size < 0 || strlen(file) > 400) usage();
    memset(&server, 0, sizeof server);
    server.sin_family = AF_INET;
    server.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &server.sin_addr) != 1) usage();

    int ep = epoll_create1(0);
    if (ep < 0) { perror("epoll_create1"); return 2; }
    unsigned char rrq[1024];
    int rl = 2;
    rrq[0] = 0;
    rrq[1] = 1;
    rl += snprintf((char *)rrq + rl, sizeof rrq - (size_t)rl, "%s", file) + 1;
    rl += snprintf((char *)rrq + rl, sizeof rrq - (size_t)rl, "octet") + 1;
    if (blksize > 0) {
        rl += snprintf((char *)rrq + rl, sizeof rrq - (size_t)rl, "blksize") + 1;
        rl += snprintf((char *)rrq + rl, sizeof rrq - (size_t)rl, "%d", blksize) + 1;
    }
    if (wsize > 0) {
        rl += snprintf((char *)rrq + rl, sizeof rrq - (size_t)rl, "windowsize") + 1;
        rl += snprintf((char *)rrq + rl, sizeof rrq - (size_t)rl, "%d", wsize) + 1;
    }
    if (tsize) {
        rl += snprintf((char *)rrq + rl, sizeof rrq - (size_t)rl, "tsize") + 1;
        rl += snprintf((char *)rrq + rl, sizeof rrq - (size_t)rl, "0") + 1;
    }
    for (int i = 0; i < nx; i++) {
        struct xfer *x = &xs[i];
        x->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        if (x->fd < 0) { perror("socket"); return 2; }
        int buf = 4 << 20;
        setsockopt(x->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, x->fd, &ev);
        x->expect = 1;
        x->blksize = 512;
        x->wsize = 1;
        memcpy(x->last, rrq, (size_t)rl);
        x->last_len = rl;
        x->last_to_server = 1;
    }
    double t0 = now_s();
    t_start = t0;
    for (int i = 0; i < nx; i++) {
        xs[i].last_rx = t0;
        send_last(&xs[i]);
    }
    static unsigned char pkt[MAX_PKT];
    struct epoll_event evs[64];
    int active = nx;
    double timeout_s = timeout_ms / 1000.0;
    while (active > 0) {
        int ne = epoll_wait(ep, evs, 64, 20);
        double t = now_s();
        for (int e = 0; e < ne; e++) {
            struct xfer *x = &xs[evs[e].data.u32];
            for (int k = 0; k < 256 && !x->done && !x->failed; k++) {
                struct sockaddr_in from;
                socklen_t fl = sizeof from;
                ssize_t n = recvfrom(x->fd, pkt, sizeof pkt, 0, (struct sockaddr *)&from, &fl);
                if (n < 0) break;
                if (n < 4) continue;
                /* The first reply fixes the peer (address and port = the server's TID). Its
                 * address may differ from the one we asked (an unbound transfer socket picks
                 * the route's source address, as tftpy's does); after that, strangers are
                 * ignored. */
                if (!x->have_peer) {
                    x->peer = from;
                    x->have_peer = 1;
                } else if (from.sin_port != x->peer.sin_port ||
                           from.sin_addr.s_addr != x->peer.sin_addr.s_addr) {
                    continue; /* a stranger's packet, not our transfer */
                }
                x->prev_rx = x->last_rx;
                x->last_rx = t;
                x->retries = 0;
                int op = (pkt[0] << 8) | pkt[1];
                if (op == 3) on_data(x, pkt, (int)n, t);
                else if (op == 6) on_oack(x, pkt, (int)n, tsize ? size : -1);
                else if (op == 5) {
                    char why[150];
                    snprintf(why, sizeof why, "ERROR %d from server", (pkt[2] << 8) | pkt[3]);
                    fail(x, why);
                } else fail(x, "unexpected opcode");
            }
        }
        active = 0;
        for (int i = 0; i < nx; i++) {
            struct xfer *x = &xs[i];
            if (x->done || x->failed) continue;
            if (t - x->last_rx > timeout_s) {
                if (x->retries >= retries) fail(x, "timed out");
                else {
                    if (verbose)
                        fprintf(stderr, "%.6f xfer %d: timeout, resend\n", t - t_start, i);
                    x->retries++;
                    x->last_rx = t;
                    send_last(x);
                }
            }
            if (t - t0 > deadline_s) fail(x, "deadline");
            if (!x->done && !x->failed) active++;
        }
    }
    double t_end = t0, t_first = -1;
    int ok = 0, failed = 0;
    uint64_t total = 0;
    const char *first_err = "";
    for (int i = 0; i < nx; i++) {
        struct xfer *x = &xs[i];
        if (x->done && (long long)x->bytes != size) fail(x, "size mismatch");
        if (x->done && !x->failed) {
            ok++;
            total += x->bytes;
            if (x->t_done > t_end) t_end = x->t_done;
            if (t_first < 0 || x->t_done < t_first) t_first = x->t_done;
        } else {
            failed++;
            if (!*first_err) first_err = x->err[0] ? x->err : "incomplete";
        }
        close(x->fd);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    printf("{\"transfers\": %d, \"ok\": %d, \"failed\": %d, \"bytes\": %llu, \"seconds\": %.6f, "
           "\"first_done\": %.6f, \"blksize\": %d, \"windowsize\": %d, \"cpu_seconds\": %.4f, "
           "\"error\": \"%s\"}\n",
           nx, ok, failed, (unsigned long long)total, t_end - t0,
           t_first < 0 ? -1.0 : t_first - t0, xs[0].blksize, xs[0].wsize, cpu, first_err);
    return failed ? 1 : 0;
}
