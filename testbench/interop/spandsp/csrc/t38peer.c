/*
 * t38peer - a SpanDSP-based T.38 peer for faxagent's interop tests.
 *
 * Built by the Go tests with gcc against Debian's libspandsp-dev
 * (pkg-config spandsp). It is a test tool; nothing in faxagent links it.
 *
 * Modes (argv[1]); every mode is line-oriented on stdin/stdout and answers
 * each input line with exactly one output line, so a Go test can drive it in
 * lockstep:
 *
 *   codec encode VERSION
 *       input : "ind N"                       an indicator (T38_IND_*)
 *               "data DT FT:HEX FT:HEX ..."   a data packet; HEX may be
 *                                             empty for a field without data
 *       output: the IFP packet t38_core produced, in hex, or "ERR".
 *
 *   codec decode VERSION
 *       input : one IFP packet in hex
 *       output: what t38_core's receive side reported, in the same notation
 *               ("ind N" or "data DT FT:HEX ..."), or "ERR".
 *
 *   terminal pipe send|recv FILE.tif [key=value ...]
 *       A SpanDSP t38_terminal (T.30 engine included) in lockstep virtual
 *       time. Input lines:
 *         "rx HEX"   a UDPTL datagram for the terminal
 *         "tick N"   advance N samples (8000 per second)
 *       After each tick the peer prints "tx HEX" for every UDPTL datagram
 *       the terminal sent since the last tick, then either "ok" or, once
 *       T.30 phase E has run,
 *         "end CODE PAGES_TX PAGES_RX BAD_ROWS BIT_RATE ECM CODE_TEXT"
 *       (and keeps running until stdin ends, so the far end can finish).
 *
 *   terminal udp LOCALPORT REMOTEPORT send|recv FILE.tif [key=value ...]
 *       The same terminal over UDPTL on 127.0.0.1 in real time; prints the
 *       "end ..." line when phase E has run and exits a second later.
 *
 *   bench SEND.tif RECV.tif [key=value ...]
 *       Two SpanDSP t38_terminals, one sending SEND.tif and one receiving
 *       into RECV.tif, back to back in virtual time in this process (UDPTL
 *       with the redundancy below in between). Prints
 *         "bench CPU_SECONDS PAGES CODE_TX CODE_RX VIRTUAL_SECONDS"
 *       where CPU_SECONDS is the process CPU time of the call alone.
 *
 *   Options: version=N (T.38 version, default 0), ecm=0|1 (default 0),
 *   modems=MASK (T30_SUPPORT_* bits: 1 V.27ter, 2 V.29, 4 V.17; default 7),
 *   comp=MASK (2 MH, 4 MR, 8 MMR; default 6), red=N (UDPTL redundancy depth,
 *   default 3), calling=0|1 (default: the sender calls), minscan=MS (minimum
 *   scan line time asked for when receiving, default 0).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <stdarg.h>

#include <errno.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <spandsp.h>

#define MAX_LINE 200000
#define MAX_FIELDS 64

/* Output accumulated by the callbacks for the current input line. */
typedef struct
{
    char *out;
    size_t len;
    size_t cap;
    int failed;
} line_out_t;

static void out_printf(line_out_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out_printf(line_out_t *o, const char *fmt, ...)
{
    va_list ap;
    int n;

    for (;;)
    {
        va_start(ap, fmt);
        n = vsnprintf(o->out + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n < 0)
        {
            o->failed = 1;
            return;
        }
        if (o->len + (size_t) n < o->cap)
            break;
        o->cap = 2*(o->cap + (size_t) n);
        if ((o->out = realloc(o->out, o->cap)) == NULL)
        {
            perror("realloc");
            exit(3);
        }
    }
    o->len += (size_t) n;
}

static void out_hex(line_out_t *o, const uint8_t *buf, int len)
{
    int i;

    for (i = 0;  i < len;  i++)
        out_printf(o, "%02x", buf[i]);
}

static void out_reset(line_out_t *o)
{
    o->len = 0;
    o->failed = 0;
    if (o->cap)
        o->out[0] = '\0';
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decode hex from s (up to a space or end) into buf; returns length or -1. */
static int unhex(const char *s, const char **end, uint8_t *buf, int max)
{
    int n = 0;

    while (*s && !isspace((unsigned char) *s))
    {
        int hi = hexval(s[0]);
        int lo = (s[1]) ? hexval(s[1]) : -1;

        if (hi < 0 || lo < 0 || n >= max)
            return -1;
        buf[n++] = (uint8_t) ((hi << 4) | lo);
        s += 2;
    }
    if (end)
        *end = s;
    return n;
}

/* --- codec mode ------------------------------------------------------- */

static int tx_packet(t38_core_state_t *s, void *user_data, const uint8_t *buf, int len, int count)
{
    line_out_t *o = (line_out_t *) user_data;

    (void) s;
    (void) count;
    out_hex(o, buf, len);
    return 0;
}

static int rx_indicator(t38_core_state_t *s, void *user_data, int indicator)
{
    line_out_t *o = (line_out_t *) user_data;

    (void) s;
    out_printf(o, "ind %d", indicator);
    return 0;
}

static int rx_data(t38_core_state_t *s, void *user_data, int data_type, int field_type, const uint8_t *buf, int len)
{
    line_out_t *o = (line_out_t *) user_data;

    (void) s;
    if (o->len == 0)
        out_printf(o, "data %d", data_type);
    out_printf(o, " %d:", field_type);
    if (buf && len > 0)
        out_hex(o, buf, len);
    return 0;
}

static int rx_missing(t38_core_state_t *s, void *user_data, int rx_seq_no, int expected_seq_no)
{
    (void) s;
    (void) user_data;
    (void) rx_seq_no;
    (void) expected_seq_no;
    return 0;
}

static int codec_encode_line(t38_core_state_t *t, char *line)
{
    static uint8_t data[MAX_FIELDS][65536];
    t38_data_field_t fields[MAX_FIELDS];
    int n;
    int dt;
    int nf;
    const char *p;
    char *endp;

    if (strncmp(line, "ind ", 4) == 0)
    {
        n = atoi(line + 4);
        /* t38_core only sends an indicator on a change of state */
        t38_core_restart(t);
        if (t38_core_send_indicator(t, n) < 0)
            return -1;
        return 0;
    }
    if (strncmp(line, "data ", 5) == 0)
    {
        dt = (int) strtol(line + 5, &endp, 10);
        p = endp;
        nf = 0;
        while (*p)
        {
            while (*p == ' ')
                p++;
            if (*p == '\0')
                break;
            if (nf >= MAX_FIELDS)
                return -1;
            fields[nf].field_type = (int) strtol(p, &endp, 10);
            if (*endp != ':')
                return -1;
            p = endp + 1;
            if ((n = unhex(p, &p, data[nf], 65536)) < 0)
                return -1;
            fields[nf].field = data[nf];
            fields[nf].field_len = n;
            nf++;
        }
        if (t38_core_send_data_multi_field(t, dt, fields, nf, T38_PACKET_CATEGORY_CONTROL_DATA) < 0)
            return -1;
        return 0;
    }
    return -1;
}

static int run_codec(int encode, int version)
{
    static char line[MAX_LINE];
    static uint8_t pkt[MAX_LINE/2];
    line_out_t out = {0};
    t38_core_state_t *t;
    uint16_t seq = 0;
    int len;

    out.cap = 256;
    out.out = malloc(out.cap);
    t = t38_core_init(NULL, rx_indicator, rx_data, rx_missing, &out, tx_packet, &out);
    if (t == NULL || out.out == NULL)
    {
        fprintf(stderr, "t38_core_init failed\n");
        return 3;
    }
    t38_set_t38_version(t, version);
    while (fgets(line, sizeof(line), stdin))
    {
        line[strcspn(line, "\r\n")] = '\0';
        out_reset(&out);
        if (encode)
        {
            if (codec_encode_line(t, line) < 0 || out.len == 0)
                out.failed = 1;
        }
        else
        {
            if ((len = unhex(line, NULL, pkt, (int) sizeof(pkt))) < 0)
                out.failed = 1;
            else if (t38_core_rx_ifp_packet(t, pkt, len, seq++) < 0 || out.len == 0)
                out.failed = 1;
        }
        if (out.failed)
            printf("ERR\n");
        else
            printf("%s\n", out.out);
        fflush(stdout);
    }
    t38_core_free(t);
    free(out.out);
    return 0;
}

/* --- terminal mode ---------------------------------------------------- */

#define MAX_RED 16
#define HIST 32

typedef struct
{
    t38_terminal_state_t *t38;
    t38_core_state_t *core;
    t30_state_t *t30;
    /* UDPTL transmit */
    int tx_seq;
    int red;
    uint8_t hist[HIST][T38_TX_BUF_LEN];
    int hist_len[HIST];
    /* where datagrams go: pipe mode collects them as text, udp mode sends
       them, bench mode queues them for the other terminal */
    line_out_t out;
    int queue;
    uint8_t *q;
    int q_len[256];
    int q_n;
    int sock;
    struct sockaddr_in remote;
    /* UDPTL receive */
    int rx_started;
    uint16_t rx_next;
    /* result */
    int done;
    int code;
    t30_stats_t stats;
} peer_t;

static int put_length(uint8_t *buf, int len)
{
    if (len < 0x80)
    {
        buf[0] = (uint8_t) len;
        return 1;
    }
    buf[0] = (uint8_t) (0x80 | (len >> 8));
    buf[1] = (uint8_t) len;
    return 2;
}

static int get_length(const uint8_t *buf, int len, int *ptr, int *value)
{
    if (*ptr >= len)
        return -1;
    if ((buf[*ptr] & 0x80) == 0)
    {
        *value = buf[(*ptr)++];
        return 0;
    }
    if ((buf[*ptr] & 0xC0) == 0x80 && *ptr + 1 < len)
    {
        *value = ((buf[*ptr] & 0x3F) << 8) | buf[*ptr + 1];
        *ptr += 2;
        return 0;
    }
    return -1;
}

static int get_octets(const uint8_t *buf, int len, int *ptr, const uint8_t **p, int *plen)
{
    if (get_length(buf, len, ptr, plen) < 0 || *plen > len - *ptr)
        return -1;
    *p = buf + *ptr;
    *ptr += *plen;
    return 0;
}

#define QSLOT 2048

static void emit_datagram(peer_t *p, const uint8_t *buf, int len)
{
    if (p->queue)
    {
        if (p->q_n < 256 && len <= QSLOT)
        {
            memcpy(p->q + p->q_n*QSLOT, buf, (size_t) len);
            p->q_len[p->q_n++] = len;
        }
        return;
    }
    if (p->sock >= 0)
    {
        if (sendto(p->sock, buf, (size_t) len, 0, (struct sockaddr *) &p->remote, sizeof(p->remote)) < 0)
            perror("sendto");
        return;
    }
    out_printf(&p->out, "tx ");
    out_hex(&p->out, buf, len);
    out_printf(&p->out, "\n");
}

/* UDPTL with redundancy: primary IFP then up to red earlier IFPs. */
static int udptl_tx(t38_core_state_t *s, void *user_data, const uint8_t *buf, int len, int count)
{
    peer_t *p = (peer_t *) user_data;
    uint8_t dg[T38_TX_BUF_LEN + 4096];
    int n = 0;
    int i;
    int depth;
    int slot;

    (void) s;
    if (len <= 0 || len > T38_TX_BUF_LEN)
        return -1;
    depth = (p->tx_seq < p->red) ? p->tx_seq : p->red;
    dg[n++] = (uint8_t) (p->tx_seq >> 8);
    dg[n++] = (uint8_t) p->tx_seq;
    n += put_length(dg + n, len);
    memcpy(dg + n, buf, (size_t) len);
    n += len;
    dg[n++] = 0x00;                        /* secondary-ifp-packets */
    n += put_length(dg + n, depth);
    for (i = 1;  i <= depth;  i++)
    {
        slot = (p->tx_seq - i) & (HIST - 1);
        n += put_length(dg + n, p->hist_len[slot]);
        memcpy(dg + n, p->hist[slot], (size_t) p->hist_len[slot]);
        n += p->hist_len[slot];
    }
    slot = p->tx_seq & (HIST - 1);
    memcpy(p->hist[slot], buf, (size_t) len);
    p->hist_len[slot] = len;
    p->tx_seq = (p->tx_seq + 1) & 0xFFFF;
    if (count < 1)
        count = 1;
    for (i = 0;  i < count;  i++)
        emit_datagram(p, dg, n);
    return 0;
}

static void udptl_rx(peer_t *p, const uint8_t *buf, int len)
{
    const uint8_t *ifp;
    const uint8_t *sec[MAX_RED];
    int sec_len[MAX_RED];
    int nsec = 0;
    int ifp_len;
    int ptr = 2;
    int count;
    int i;
    int k;
    int d;
    uint16_t seq;

    if (len < 3)
        return;
    seq = (uint16_t) ((buf[0] << 8) | buf[1]);
    if (get_octets(buf, len, &ptr, &ifp, &ifp_len) < 0 || ifp_len < 1 || ptr >= len)
        return;
    if ((buf[ptr++] & 0x80) == 0)
    {
        if (get_length(buf, len, &ptr, &count) < 0)
            return;
        for (i = 0;  i < count;  i++)
        {
            const uint8_t *q;
            int qlen;

            if (get_octets(buf, len, &ptr, &q, &qlen) < 0)
                return;
            if (nsec < MAX_RED)
            {
                sec[nsec] = q;
                sec_len[nsec] = qlen;
                nsec++;
            }
        }
    }
    /* FEC entries are not used by this peer: the primary is enough. */
    if (p->rx_started)
    {
        d = (int16_t) (seq - p->rx_next);
        if (d < 0)
            return;         /* duplicate or late */
        for (k = d;  k >= 1;  k--)
        {
            if (k - 1 < nsec)
                t38_core_rx_ifp_packet(p->core, sec[k - 1], sec_len[k - 1], (uint16_t) (seq - k));
        }
    }
    p->rx_started = 1;
    t38_core_rx_ifp_packet(p->core, ifp, ifp_len, seq);
    p->rx_next = (uint16_t) (seq + 1);
}

static void phase_e(t30_state_t *s, void *user_data, int completion_code)
{
    peer_t *p = (peer_t *) user_data;

    p->done = 1;
    p->code = completion_code;
    t30_get_transfer_statistics(s, &p->stats);
}

static void print_end(peer_t *p)
{
    printf("end %d %d %d %d %d %d %s\n", p->code, p->stats.pages_tx, p->stats.pages_rx,
           p->stats.bad_rows, p->stats.bit_rate, p->stats.error_correcting_mode,
           t30_completion_code_to_str(p->code));
    fflush(stdout);
}

static int opt(int argc, char *argv[], const char *key, int def)
{
    size_t n = strlen(key);
    int i;

    for (i = 0;  i < argc;  i++)
    {
        if (strncmp(argv[i], key, n) == 0 && argv[i][n] == '=')
            return atoi(argv[i] + n + 1);
    }
    return def;
}

static int peer_init(peer_t *p, int send, const char *file, int argc, char *argv[])
{
    int calling = opt(argc, argv, "calling", send);

    memset(p, 0, sizeof(*p));
    p->sock = -1;
    p->red = opt(argc, argv, "red", 3);
    if (p->red < 0 || p->red >= MAX_RED)
        p->red = 3;
    p->out.cap = 4096;
    if ((p->out.out = malloc(p->out.cap)) == NULL)
        return -1;
    p->out.out[0] = '\0';
    if ((p->t38 = t38_terminal_init(NULL, calling, udptl_tx, p)) == NULL)
        return -1;
    p->core = t38_terminal_get_t38_core_state(p->t38);
    p->t30 = t38_terminal_get_t30_state(p->t38);
    t38_set_t38_version(p->core, opt(argc, argv, "version", 0));
    t38_terminal_set_config(p->t38, 0);
    t38_terminal_set_tep_mode(p->t38, 0);
    t38_terminal_set_fill_bit_removal(p->t38, 0);
    t30_set_tx_ident(p->t30, send ? "SPANDSP SENDER" : "SPANDSP RECEIVER");
    t30_set_ecm_capability(p->t30, opt(argc, argv, "ecm", 0));
    t30_set_supported_modems(p->t30, opt(argc, argv, "modems", T30_SUPPORT_V27TER | T30_SUPPORT_V29 | T30_SUPPORT_V17));
    t30_set_supported_compressions(p->t30, opt(argc, argv, "comp", T30_SUPPORT_T4_1D_COMPRESSION | T30_SUPPORT_T4_2D_COMPRESSION));
    t30_set_minimum_scan_line_time(p->t30, opt(argc, argv, "minscan", 0));
    t30_set_phase_e_handler(p->t30, phase_e, p);
    if (send)
        t30_set_tx_file(p->t30, file, -1, -1);
    else
        t30_set_rx_file(p->t30, file, -1);
    return 0;
}

static int run_terminal_pipe(int send, const char *file, int argc, char *argv[])
{
    static char line[MAX_LINE];
    static uint8_t dg[MAX_LINE/2];
    peer_t *p;
    int reported = 0;
    int len;

    if ((p = malloc(sizeof(*p))) == NULL || peer_init(p, send, file, argc, argv) < 0)
    {
        fprintf(stderr, "t38peer: cannot start the terminal\n");
        return 3;
    }
    while (fgets(line, sizeof(line), stdin))
    {
        line[strcspn(line, "\r\n")] = '\0';
        if (strncmp(line, "rx ", 3) == 0)
        {
            if ((len = unhex(line + 3, NULL, dg, (int) sizeof(dg))) > 0)
                udptl_rx(p, dg, len);
            continue;
        }
        if (strncmp(line, "tick ", 5) != 0)
        {
            printf("ERR unknown command\n");
            fflush(stdout);
            continue;
        }
        t38_terminal_send_timeout(p->t38, atoi(line + 5));
        fputs(p->out.out, stdout);
        out_reset(&p->out);
        if (p->done && !reported)
        {
            print_end(p);
            reported = 1;
        }
        else
        {
            printf("ok\n");
            fflush(stdout);
        }
    }
    t38_terminal_free(p->t38);
    free(p->out.out);
    free(p);
    return 0;
}

static int64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec*1000000 + ts.tv_nsec/1000;
}

static int run_terminal_udp(int lport, int rport, int send, const char *file, int argc, char *argv[])
{
    static uint8_t dg[65536];
    struct sockaddr_in local;
    struct pollfd pfd;
    peer_t *p;
    int64_t last;
    int64_t end_at = 0;
    int64_t deadline;
    int64_t t;
    ssize_t n;
    int samples;

    if ((p = malloc(sizeof(*p))) == NULL || peer_init(p, send, file, argc, argv) < 0)
    {
        fprintf(stderr, "t38peer: cannot start the terminal\n");
        return 3;
    }
    if ((p->sock = socket(AF_INET, SOCK_DGRAM, 0)) < 0)
    {
        perror("socket");
        return 3;
    }
    memset(&local, 0, sizeof(local));
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    local.sin_port = htons((uint16_t) lport);
    if (bind(p->sock, (struct sockaddr *) &local, sizeof(local)) < 0)
    {
        perror("bind");
        return 3;
    }
    p->remote = local;
    p->remote.sin_port = htons((uint16_t) rport);
    printf("ready %d\n", lport);
    fflush(stdout);
    last = now_us();
    deadline = last + (int64_t) opt(argc, argv, "timeout", 600)*1000000;
    for (;;)
    {
        pfd.fd = p->sock;
        pfd.events = POLLIN;
        if (poll(&pfd, 1, 10) > 0 && (pfd.revents & POLLIN))
        {
            while ((n = recv(p->sock, dg, sizeof(dg), MSG_DONTWAIT)) > 0)
                udptl_rx(p, dg, (int) n);
        }
        t = now_us();
        samples = (int) ((t - last)*8/1000);
        if (samples > 0)
        {
            t38_terminal_send_timeout(p->t38, samples);
            last += (int64_t) samples*1000/8;
        }
        if (p->done && end_at == 0)
        {
            print_end(p);
            end_at = t + 1000000;
        }
        if ((end_at && t >= end_at) || t >= deadline)
            break;
    }
    if (!p->done)
    {
        printf("end -1 0 0 0 0 0 timeout\n");
        fflush(stdout);
    }
    close(p->sock);
    t38_terminal_free(p->t38);
    free(p->out.out);
    free(p);
    return 0;
}

static double cpu_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec/1e9;
}

static int run_bench(const char *send_file, const char *recv_file, int argc, char *argv[])
{
    peer_t *a;
    peer_t *b;
    double t0;
    double t1;
    long ticks = 0;
    int i;

    a = malloc(sizeof(*a));
    b = malloc(sizeof(*b));
    if (a == NULL || b == NULL || peer_init(a, 1, send_file, argc, argv) < 0 || peer_init(b, 0, recv_file, argc, argv) < 0)
    {
        fprintf(stderr, "t38peer: cannot start the terminals\n");
        return 3;
    }
    a->queue = b->queue = 1;
    a->q = malloc(256*QSLOT);
    b->q = malloc(256*QSLOT);
    if (a->q == NULL || b->q == NULL)
        return 3;
    t0 = cpu_seconds();
    while (!(a->done && b->done) && ticks < 8000L*3600/160)
    {
        t38_terminal_send_timeout(a->t38, 160);
        t38_terminal_send_timeout(b->t38, 160);
        for (i = 0;  i < a->q_n;  i++)
            udptl_rx(b, a->q + i*QSLOT, a->q_len[i]);
        a->q_n = 0;
        for (i = 0;  i < b->q_n;  i++)
            udptl_rx(a, b->q + i*QSLOT, b->q_len[i]);
        b->q_n = 0;
        ticks++;
    }
    t1 = cpu_seconds();
    printf("bench %.6f %d %d %d %.2f\n", t1 - t0, b->stats.pages_rx, a->code, b->code, (double) ticks*160/8000);
    fflush(stdout);
    t38_terminal_free(a->t38);
    t38_terminal_free(b->t38);
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: t38peer codec encode|decode VERSION\n"
                    "       t38peer terminal pipe send|recv FILE.tif [key=value ...]\n"
                    "       t38peer terminal udp LOCALPORT REMOTEPORT send|recv FILE.tif [key=value ...]\n"
                    "       t38peer bench SEND.tif RECV.tif [key=value ...]\n");
}

int main(int argc, char *argv[])
{
    if (argc == 4 && strcmp(argv[1], "codec") == 0)
    {
        int version = atoi(argv[3]);

        if (strcmp(argv[2], "encode") == 0)
            return run_codec(1, version);
        if (strcmp(argv[2], "decode") == 0)
            return run_codec(0, version);
    }
    if (argc >= 4 && strcmp(argv[1], "bench") == 0)
        return run_bench(argv[2], argv[3], argc - 4, argv + 4);
    if (argc >= 5 && strcmp(argv[1], "terminal") == 0 && strcmp(argv[2], "pipe") == 0)
        return run_terminal_pipe(strcmp(argv[3], "send") == 0, argv[4], argc - 5, argv + 5);
    if (argc >= 7 && strcmp(argv[1], "terminal") == 0 && strcmp(argv[2], "udp") == 0)
        return run_terminal_udp(atoi(argv[3]), atoi(argv[4]), strcmp(argv[5], "send") == 0, argv[6], argc - 7, argv + 7);
    usage();
    return 2;
}
