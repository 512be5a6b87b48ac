/*
 * loadws: N WebSocket subscribers on one epoll loop, for the fanout row
 * of bench/run.py (bench/README.md, "fanout").
 *
 *   cc -O2 -o loadws bench/loadws.c
 *   loadws -p PORT -u PATH -n N [-k K0] [-c INFLIGHT]
 *
 * Opens N connections to 127.0.0.1:PORT, sends a WebSocket upgrade for
 * PATH on each (at most INFLIGHT handshakes at once), checks the 101 and
 * its Sec-WebSocket-Accept, then reads server frames (unmasked; pings
 * answered with a masked pong).  Each text message that carries
 * `"k":<n>` with n >= K0 is a delivery of the bench's publisher, whose
 * `"t":<µs>` (CLOCK_MONOTONIC, the same clock as here) gives its latency
 * from emit to receive.  Messages with a smaller k (history) are counted
 * apart, and so are messages without k (the module's own events) and
 * "gap" events.
 *
 * Protocol with the driver, one JSON line per answer on stdout:
 *   - once every handshake is done or failed: {"ready":...}
 *   - stdin "stat": {"stat":...} (counts so far, no histogram)
 *   - stdin "stop" or EOF: a close frame on every socket, then the
 *     summary {"summary":...} and exit.
 * Raises RLIMIT_NOFILE to its hard limit.  Loopback only.
 */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define KEY     "dGhlIHNhbXBsZSBub25jZQ=="
#define ACCEPT  "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="   /* RFC 6455's example */
#define RBUF    (256 * 1024)
#define BUCKET_US 100000                         /* timeline: 100 ms */
#define NBUCKETS  6000                           /* 600 s */

/* latency histogram: exact below 1024 µs, then 512 steps per octave */
#define HSUB    512
#define HOCT    40
#define HSIZE   (1024 + HOCT * HSUB)

enum { C_CONNECTING, C_HANDSHAKE, C_OPEN, C_CLOSED };

typedef struct {
    int       fd;
    int       state;
    size_t    sent;          /* of the request */
    char     *pend;          /* an unfinished frame or header */
    size_t    plen, pcap;
    uint64_t  got;           /* deliveries */
    int       was_open;
} conn_t;

static int         port, nconn, inflight_max = 256;
static const char *path = "/ws";
static long long   k0 = 0;
static conn_t     *conns;
static int         ep;
static char        request[1024];
static size_t      reqlen;
static uint64_t    hist[HSIZE];
static uint64_t    timeline[NBUCKETS];
static uint64_t    ready_us, lat_sum, lat_n, lat_max;
static uint64_t    bench, old, other, gaps, nottext, frames, bytes_in;
static uint64_t    pings, server_closed, errors, failed, opened;
static long long   kmin = -1, kmax = -1;
static int         pending, connecting_left;
static char        rbuf[RBUF];

static uint64_t
now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int
hidx(uint64_t v)
{
    int e, shift, i;
    if (v < 1024) {
        return (int) v;
    }
    e = 63 - __builtin_clzll(v);          /* >= 10 */
    shift = e - 9;
    i = 1024 + (e - 10) * HSUB + (int) ((v >> shift) - HSUB);
    return i < HSIZE ? i : HSIZE - 1;
}

static uint64_t
hval(int i)
{
    int o;
    if (i < 1024) {
        return (uint64_t) i;
    }
    o = (i - 1024) / HSUB;
    return (uint64_t) (HSUB + (i - 1024) % HSUB) << (o + 1);
}

static double
pct(double q)
{
    uint64_t want, acc = 0;
    int i;
    if (lat_n == 0) {
        return -1;
    }
    want = (uint64_t) (q * lat_n);
    if (want >= lat_n) {
        want = lat_n - 1;
    }
    for (i = 0; i < HSIZE; i++) {
        acc += hist[i];
        if (acc > want) {
            return (double) hval(i);
        }
    }
    return (double) lat_max;
}

static void
conn_close(conn_t *c, int err)
{
    if (c->state == C_CLOSED) {
        return;
    }
    if (c->state != C_OPEN) {
        failed++;
        pending--;
    }
    if (err) {
        errors++;
    }
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->state = C_CLOSED;
}

static void
send_masked(conn_t *c, int opcode, const unsigned char *p, size_t n)
{
    unsigned char f[2 + 4 + 125];
    size_t i;
    if (n > 125) {
        n = 125;
    }
    f[0] = 0x80 | opcode;
    f[1] = 0x80 | (unsigned char) n;
    memset(f + 2, 0, 4);                  /* a zero mask: bytes as they are */
    for (i = 0; i < n; i++) {
        f[6 + i] = p[i];
    }
    (void) !write(c->fd, f, 6 + n);
}

static long long
num_after(const char *p, size_t n, const char *key, size_t klen, int *ok)
{
    const char *q = memmem(p, n, key, klen), *end = p + n;
    long long v = 0;
    int neg = 0;
    *ok = 0;
    if (q == NULL) {
        return 0;
    }
    q += klen;
    if (q < end && *q == '-') {
        neg = 1;
        q++;
    }
    while (q < end && *q >= '0' && *q <= '9') {
        v = v * 10 + (*q++ - '0');
        *ok = 1;
    }
    return neg ? -v : v;
}

static void
message(conn_t *c, const char *p, size_t n, uint64_t t)
{
    int ok;
    long long k, ts;
    k = num_after(p, n, "\"k\":", 4, &ok);
    if (!ok) {
        if (memmem(p, n, "\"type\":\"gap\"", 12)) {
            gaps++;
        } else {
            other++;
        }
        return;
    }
    if (k < k0) {
        old++;
        return;
    }
    ts = num_after(p, n, "\"t\":", 4, &ok);
    bench++;
    c->got++;
    if (kmin < 0 || k < kmin) {
        kmin = k;
    }
    if (k > kmax) {
        kmax = k;
    }
    if (ok && (uint64_t) ts <= t) {
        uint64_t d = t - (uint64_t) ts;
        hist[hidx(d)]++;
        lat_sum += d;
        lat_n++;
        if (d > lat_max) {
            lat_max = d;
        }
    }
    if (t >= ready_us && ready_us) {
        uint64_t b = (t - ready_us) / BUCKET_US;
        if (b < NBUCKETS) {
            timeline[b]++;
        }
    }
}

/* frames in p[0..n): returns the bytes used (whole frames only) */
static size_t
frames_in(conn_t *c, const char *p, size_t n, uint64_t t)
{
    size_t used = 0;
    while (n - used >= 2) {
        const unsigned char *f = (const unsigned char *) p + used;
        size_t avail = n - used, h = 2;
        uint64_t len = f[1] & 0x7f;
        int op = f[0] & 0x0f, masked = f[1] & 0x80;
        if (len == 126) {
            if (avail < 4) {
                break;
            }
            len = ((uint64_t) f[2] << 8) | f[3];
            h = 4;
        } else if (len == 127) {
            int i;
            if (avail < 10) {
                break;
            }
            len = 0;
            for (i = 0; i < 8; i++) {
                len = (len << 8) | f[2 + i];
            }
            h = 10;
        }
        if (masked) {
            h += 4;                        /* a server must not mask */
            errors++;
        }
        if (avail < h + len) {
            break;
        }
        frames++;
        if (op == 1 || op == 0) {
            message(c, (const char *) f + h, len, t);
        } else if (op == 9) {
            pings++;
            send_masked(c, 10, f + h, len);
        } else if (op == 8) {
            server_closed++;
            conn_close(c, 0);
            return n;
        } else if (op != 10) {
            nottext++;
        }
        used += h + len;
    }
    return used;
}

static void
keep(conn_t *c, const char *p, size_t n)
{
    if (n == 0) {
        c->plen = 0;
        return;
    }
    if (c->pcap < n) {
        c->pcap = n < 4096 ? 4096 : n;
        c->pend = realloc(c->pend, c->pcap);
    }
    memmove(c->pend, p, n);
    c->plen = n;
}

static void
on_data(conn_t *c, const char *p, size_t n, uint64_t t)
{
    if (c->plen) {                         /* join the kept bytes */
        if (c->pcap < c->plen + n) {
            c->pcap = (c->plen + n) * 2;
            c->pend = realloc(c->pend, c->pcap);
        }
        memcpy(c->pend + c->plen, p, n);
        c->plen += n;
        p = c->pend;
        n = c->plen;
        {
            size_t u;
            if (c->state == C_HANDSHAKE) {
                goto handshake;
            }
            u = frames_in(c, p, n, t);
            if (c->state == C_OPEN) {
                keep(c, p + u, n - u);
            }
            return;
        }
    }
    if (c->state == C_OPEN) {
        size_t u = frames_in(c, p, n, t);
        if (c->state == C_OPEN) {
            keep(c, p + u, n - u);
        }
        return;
    }
handshake:
    {
        const char *e = memmem(p, n, "\r\n\r\n", 4);
        size_t hl, u;
        if (e == NULL) {
            if (n > 8192) {
                conn_close(c, 1);
                return;
            }
            if (p != c->pend) {
                keep(c, p, n);
            }
            return;
        }
        hl = e + 4 - p;
        if (n < 12 || memcmp(p, "HTTP/1.1 101", 12) != 0
            || memmem(p, hl, ACCEPT, sizeof(ACCEPT) - 1) == NULL)
        {
            if (failed < 3) {
                fprintf(stderr, "loadws: not a 101: %.*s\n",
                        (int) (hl > 200 ? 200 : hl), p);
            }
            conn_close(c, 1);
            return;
        }
        c->state = C_OPEN;
        c->was_open = 1;
        opened++;
        pending--;
        {
            char tmp[RBUF];                 /* frames already after it */
            size_t rest = n - hl;
            if (rest > sizeof(tmp)) {
                rest = sizeof(tmp);
            }
            memcpy(tmp, p + hl, rest);
            c->plen = 0;
            u = frames_in(c, tmp, rest, t);
            if (c->state == C_OPEN) {
                keep(c, tmp + u, rest - u);
            }
        }
    }
}

static void start_connects(void);

static void
on_event(conn_t *c, uint32_t ev)
{
    if (c->state == C_CONNECTING) {
        int err = 0;
        socklen_t l = sizeof(err);
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
        if (err) {
            if (failed < 3) {
                fprintf(stderr, "loadws: connect: %s\n", strerror(err));
            }
            conn_close(c, 1);
            return;
        }
        c->state = C_HANDSHAKE;
    }
    if (c->state == C_HANDSHAKE && c->sent < reqlen && (ev & EPOLLOUT)) {
        ssize_t w = write(c->fd, request + c->sent, reqlen - c->sent);
        if (w > 0) {
            c->sent += w;
        }
        if (c->sent == reqlen) {
            struct epoll_event e = { .events = EPOLLIN, .data.ptr = c };
            epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
        }
    }
    if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        ssize_t r = read(c->fd, rbuf, sizeof(rbuf));
        if (r > 0) {
            bytes_in += r;
            on_data(c, rbuf, r, now_us());
        } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
            if (c->state == C_OPEN) {
                server_closed++;
            }
            conn_close(c, r < 0);
        }
    }
}

static int next_conn;

static void
start_connects(void)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    while (next_conn < nconn && pending < inflight_max) {
        conn_t *c = &conns[next_conn++];
        struct epoll_event e = { .events = EPOLLOUT | EPOLLIN, .data.ptr = c };
        int one = 1;
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (c->fd < 0) {
            perror("loadws: socket");
            c->state = C_CLOSED;
            failed++;
            continue;
        }
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        pending++;
        c->state = C_CONNECTING;
        if (connect(c->fd, (struct sockaddr *) &sa, sizeof(sa)) < 0
            && errno != EINPROGRESS)
        {
            perror("loadws: connect");
            conn_close(c, 1);
            continue;
        }
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e);
    }
}

static void
print_counts(const char *tag)
{
    printf("{\"%s\":{\"connected\":%llu,\"failed\":%llu,\"open\":%llu,"
           "\"bench\":%llu,\"old\":%llu,\"other\":%llu,\"gaps\":%llu,"
           "\"frames\":%llu,\"bytes\":%llu,\"server_closed\":%llu,"
           "\"errors\":%llu,\"pings\":%llu,\"nottext\":%llu,"
           "\"kmin\":%lld,\"kmax\":%lld,\"now_us\":%llu,"
           "\"ready_us\":%llu",
           tag, (unsigned long long) opened, (unsigned long long) failed,
           (unsigned long long) (opened - server_closed),
           (unsigned long long) bench, (unsigned long long) old,
           (unsigned long long) other, (unsigned long long) gaps,
           (unsigned long long) frames, (unsigned long long) bytes_in,
           (unsigned long long) server_closed, (unsigned long long) errors,
           (unsigned long long) pings, (unsigned long long) nottext,
           kmin, kmax, (unsigned long long) now_us(),
           (unsigned long long) ready_us);
}

static void
summary(void)
{
    int i, last = -1;
    uint64_t cmin = UINT64_MAX, cmax = 0;
    for (i = 0; i < nconn; i++) {
        if (conns[i].was_open) {
            if (conns[i].got < cmin) {
                cmin = conns[i].got;
            }
            if (conns[i].got > cmax) {
                cmax = conns[i].got;
            }
        }
    }
    print_counts("summary");
    printf(",\"lat_n\":%llu,\"p50_us\":%.0f,\"p90_us\":%.0f,"
           "\"p99_us\":%.0f,\"p999_us\":%.0f,\"max_us\":%llu,"
           "\"mean_us\":%.1f,\"per_conn_min\":%llu,\"per_conn_max\":%llu,"
           "\"bucket_us\":%d,\"timeline\":[",
           (unsigned long long) lat_n, pct(0.5), pct(0.9), pct(0.99),
           pct(0.999), (unsigned long long) lat_max,
           lat_n ? (double) lat_sum / lat_n : -1.0,
           (unsigned long long) (cmin == UINT64_MAX ? 0 : cmin),
           (unsigned long long) cmax, BUCKET_US);
    for (i = 0; i < NBUCKETS; i++) {
        if (timeline[i]) {
            last = i;
        }
    }
    for (i = 0; i <= last; i++) {
        printf(i ? ",%llu" : "%llu", (unsigned long long) timeline[i]);
    }
    printf("]}}\n");
    fflush(stdout);
}

int
main(int argc, char **argv)
{
    int opt, i, stop = 0;
    struct rlimit rl;
    struct epoll_event e, evs[512];
    char line[256];
    size_t linelen = 0;
    uint64_t t0;

    while ((opt = getopt(argc, argv, "p:u:n:k:c:")) != -1) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 'u': path = optarg; break;
        case 'n': nconn = atoi(optarg); break;
        case 'k': k0 = atoll(optarg); break;
        case 'c': inflight_max = atoi(optarg); break;
        default:
            fprintf(stderr, "usage: loadws -p PORT -u PATH -n N [-k K0] "
                    "[-c INFLIGHT]\n");
            return 2;
        }
    }
    if (port <= 0 || nconn <= 0) {
        fprintf(stderr, "loadws: -p and -n are required\n");
        return 2;
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < (rlim_t) nconn + 16) {
            fprintf(stderr, "loadws: RLIMIT_NOFILE %llu < %d connections\n",
                    (unsigned long long) rl.rlim_cur, nconn);
            return 2;
        }
    }
    reqlen = snprintf(request, sizeof(request),
                      "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                      "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: " KEY "\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n", path, port);
    conns = calloc(nconn, sizeof(conn_t));
    ep = epoll_create1(0);
    e.events = EPOLLIN;
    e.data.ptr = NULL;                       /* stdin */
    fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
    epoll_ctl(ep, EPOLL_CTL_ADD, 0, &e);

    t0 = now_us();
    connecting_left = 1;
    start_connects();
    while (!stop) {
        int n = epoll_wait(ep, evs, 512, 100);
        for (i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL) {
                ssize_t r = read(0, line + linelen,
                                 sizeof(line) - 1 - linelen);
                if (r == 0) {
                    stop = 1;
                    break;
                }
                if (r < 0) {
                    continue;
                }
                linelen += r;
                line[linelen] = '\0';
                char *nl;
                while ((nl = strchr(line, '\n')) != NULL) {
                    *nl = '\0';
                    if (strcmp(line, "stop") == 0) {
                        stop = 1;
                    } else if (strcmp(line, "stat") == 0) {
                        print_counts("stat");
                        printf("}}\n");
                        fflush(stdout);
                    }
                    memmove(line, nl + 1, linelen - (nl + 1 - line) + 1);
                    linelen -= nl + 1 - line;
                }
                if (linelen >= sizeof(line) - 1) {
                    linelen = 0;
                }
                continue;
            }
            on_event(evs[i].data.ptr, evs[i].events);
        }
        if (connecting_left) {
            start_connects();
            if (next_conn == nconn && pending == 0) {
                connecting_left = 0;
                ready_us = now_us();
                printf("{\"ready\":{\"connected\":%llu,\"failed\":%llu,"
                       "\"connect_s\":%.3f,\"ready_us\":%llu}}\n",
                       (unsigned long long) opened,
                       (unsigned long long) failed,
                       (ready_us - t0) / 1e6,
                       (unsigned long long) ready_us);
                fflush(stdout);
            }
        }
    }
    {
        static const unsigned char code[2] = { 0x03, 0xe8 };   /* 1000 */
        for (i = 0; i < nconn; i++) {
            if (conns[i].state == C_OPEN) {
                send_masked(&conns[i], 8, code, 2);
            }
        }
    }
    summary();
    for (i = 0; i < nconn; i++) {
        if (conns[i].state != C_CLOSED) {
            close(conns[i].fd);
        }
    }
    return 0;
}
