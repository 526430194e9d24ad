/*
 * faxpeer - SpanDSP's audio fax terminal (fax_state: its V.21, V.27ter,
 * V.29 and V.17 modems with its T.30) as a peer for faxagent's modem tests.
 *
 * Built by the Go tests with gcc against Debian's libspandsp-dev
 * (pkg-config spandsp). It is a test tool; nothing in faxagent links it.
 * Every mode is line-oriented on stdin/stdout so a Go test can drive it in
 * lockstep.
 *
 *   audio send|recv FILE.tif [key=value ...]
 *       A SpanDSP fax terminal in lockstep virtual time on 8 kHz samples.
 *       Input: "tick N HEX" - HEX is the samples that reached the peer
 *       since the last tick (4 hex digits each, 16-bit two's complement,
 *       any number of them); then the peer makes N samples.
 *       Output: "tx HEX" (the N samples it sent), then "ok", or once T.30
 *       phase E has run
 *         "end CODE PAGES_TX PAGES_RX BAD_ROWS BIT_RATE ECM CODE_TEXT"
 *       (it keeps running until stdin ends, so the far end can finish).
 *       Options: ecm=0|1 (default 0), modems=MASK (T30_SUPPORT_*: 1 V.27ter,
 *       2 V.29, 4 V.17; default 7), comp=MASK (2 MH, 4 MR, 8 MMR; default
 *       6), calling=0|1 (default: the sender calls), debug=1 (SpanDSP's
 *       T.30 and modem log on stderr).
 *
 *   bench SEND.tif RECV.tif [key=value ...]
 *       Two SpanDSP fax terminals back to back in this process, one sending
 *       SEND.tif, one receiving into RECV.tif, 160 samples each way per
 *       step, in virtual time. Prints
 *         "bench CPU_SECONDS PAGES CODE_TX CODE_RX VIRTUAL_SECONDS BIT_RATE"
 *       where CPU_SECONDS is the process CPU time of the call alone
 *       (modulation, demodulation and T.30/T.4 of both ends). Options as
 *       for audio.
 *
 *   g711
 *       Prints SpanDSP's G.711 (g711.h): a line of the u-law codes of every
 *       16-bit input from -32768 up, a line of the A-law codes, then a line
 *       of the u-law decodings of codes 0..255 and one of the A-law ones
 *       (4 hex digits each).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <time.h>

#include <spandsp.h>

#define MAX_LINE (1 << 20)
#define MAX_SAMPLES (MAX_LINE/4)

typedef struct
{
    fax_state_t *fax;
    t30_state_t *t30;
    int done;
    int code;
    t30_stats_t stats;
} peer_t;

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
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

static void phase_e(t30_state_t *s, void *user_data, int completion_code)
{
    peer_t *p = (peer_t *) user_data;

    p->done = 1;
    p->code = completion_code;
    t30_get_transfer_statistics(s, &p->stats);
}

static int run_audio(int send, const char *file, int argc, char *argv[])
{
    static char line[MAX_LINE];
    static int16_t rx[MAX_SAMPLES];
    static int16_t tx[MAX_SAMPLES];
    static char out[MAX_SAMPLES*4 + 8];
    static const char hex[] = "0123456789abcdef";
    peer_t p;
    int calling = opt(argc, argv, "calling", send);
    int reported = 0;

    memset(&p, 0, sizeof(p));
    if ((p.fax = fax_init(NULL, calling)) == NULL)
    {
        fprintf(stderr, "faxpeer: fax_init failed\n");
        return 3;
    }
    p.t30 = fax_get_t30_state(p.fax);
    fax_set_transmit_on_idle(p.fax, 1);
    fax_set_tep_mode(p.fax, 0);
    if (opt(argc, argv, "debug", 0))
    {
        span_log_set_level(fax_get_logging_state(p.fax), SPAN_LOG_SHOW_SEVERITY | SPAN_LOG_SHOW_PROTOCOL | SPAN_LOG_FLOW);
        span_log_set_level(t30_get_logging_state(p.t30), SPAN_LOG_SHOW_SEVERITY | SPAN_LOG_SHOW_PROTOCOL | SPAN_LOG_FLOW);
    }
    t30_set_tx_ident(p.t30, send ? "SPANDSP SENDER" : "SPANDSP RECEIVER");
    t30_set_ecm_capability(p.t30, opt(argc, argv, "ecm", 0));
    t30_set_supported_modems(p.t30, opt(argc, argv, "modems", T30_SUPPORT_V27TER | T30_SUPPORT_V29 | T30_SUPPORT_V17));
    t30_set_supported_compressions(p.t30, opt(argc, argv, "comp", T30_SUPPORT_T4_1D_COMPRESSION | T30_SUPPORT_T4_2D_COMPRESSION));
    t30_set_phase_e_handler(p.t30, phase_e, &p);
    if (send)
        t30_set_tx_file(p.t30, file, -1, -1);
    else
        t30_set_rx_file(p.t30, file, -1);

    while (fgets(line, sizeof(line), stdin))
    {
        char *s;
        int n;
        int nrx = 0;
        int i;
        int k;

        line[strcspn(line, "\r\n")] = '\0';
        if (strncmp(line, "tick ", 5) != 0)
        {
            printf("ERR unknown command\n");
            fflush(stdout);
            continue;
        }
        n = (int) strtol(line + 5, &s, 10);
        if (n < 0 || n > MAX_SAMPLES)
            n = 0;
        while (*s == ' ')
            s++;
        while (s[0] && s[1] && s[2] && s[3] && nrx < MAX_SAMPLES)
        {
            int v = (hexval(s[0]) << 12) | (hexval(s[1]) << 8) | (hexval(s[2]) << 4) | hexval(s[3]);

            rx[nrx++] = (int16_t) (uint16_t) v;
            s += 4;
        }
        if (nrx > 0)
            fax_rx(p.fax, rx, nrx);
        k = fax_tx(p.fax, tx, n);
        for (i = k;  i < n;  i++)
            tx[i] = 0;
        for (i = 0;  i < n;  i++)
        {
            uint16_t v = (uint16_t) tx[i];

            out[4*i] = hex[v >> 12];
            out[4*i + 1] = hex[(v >> 8) & 15];
            out[4*i + 2] = hex[(v >> 4) & 15];
            out[4*i + 3] = hex[v & 15];
        }
        out[4*n] = '\0';
        printf("tx %s\n", out);
        if (p.done && !reported)
        {
            printf("end %d %d %d %d %d %d %s\n", p.code, p.stats.pages_tx, p.stats.pages_rx,
                   p.stats.bad_rows, p.stats.bit_rate, p.stats.error_correcting_mode,
                   t30_completion_code_to_str(p.code));
            reported = 1;
        }
        else
        {
            printf("ok\n");
        }
        fflush(stdout);
    }
    fax_free(p.fax);
    return 0;
}

static double cpu_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec/1e9;
}

static int bench_init(peer_t *p, int send, const char *file, int argc, char *argv[])
{
    memset(p, 0, sizeof(*p));
    if ((p->fax = fax_init(NULL, send)) == NULL)
        return -1;
    p->t30 = fax_get_t30_state(p->fax);
    fax_set_transmit_on_idle(p->fax, 1);
    fax_set_tep_mode(p->fax, 0);
    t30_set_tx_ident(p->t30, send ? "SPANDSP SENDER" : "SPANDSP RECEIVER");
    t30_set_ecm_capability(p->t30, opt(argc, argv, "ecm", 0));
    t30_set_supported_modems(p->t30, opt(argc, argv, "modems", T30_SUPPORT_V27TER | T30_SUPPORT_V29 | T30_SUPPORT_V17));
    t30_set_supported_compressions(p->t30, opt(argc, argv, "comp", T30_SUPPORT_T4_1D_COMPRESSION | T30_SUPPORT_T4_2D_COMPRESSION));
    t30_set_phase_e_handler(p->t30, phase_e, p);
    if (send)
        t30_set_tx_file(p->t30, file, -1, -1);
    else
        t30_set_rx_file(p->t30, file, -1);
    return 0;
}

static int run_bench(const char *send_file, const char *recv_file, int argc, char *argv[])
{
    static peer_t a;
    static peer_t b;
    int16_t ab[160];
    int16_t ba[160];
    int16_t buf[160];
    long steps = 0;
    double t0;
    double t1;
    int k;

    if (bench_init(&a, 1, send_file, argc, argv) < 0 || bench_init(&b, 0, recv_file, argc, argv) < 0)
    {
        fprintf(stderr, "faxpeer: cannot start the terminals\n");
        return 3;
    }
    memset(ab, 0, sizeof(ab));
    memset(ba, 0, sizeof(ba));
    t0 = cpu_seconds();
    while (!(a.done && b.done) && steps < 8000L*3600/160)
    {
        fax_rx(a.fax, ba, 160);
        fax_rx(b.fax, ab, 160);
        k = fax_tx(a.fax, buf, 160);
        memset(buf + k, 0, sizeof(int16_t)*(160 - k));
        memcpy(ab, buf, sizeof(ab));
        k = fax_tx(b.fax, buf, 160);
        memset(buf + k, 0, sizeof(int16_t)*(160 - k));
        memcpy(ba, buf, sizeof(ba));
        steps++;
    }
    t1 = cpu_seconds();
    printf("bench %.6f %d %d %d %.2f %d\n", t1 - t0, b.stats.pages_rx, a.code, b.code, (double) steps*160/8000, b.stats.bit_rate);
    fflush(stdout);
    fax_free(a.fax);
    fax_free(b.fax);
    return 0;
}

static int run_g711(void)
{
    int x;

    for (x = -32768;  x <= 32767;  x++)
        printf("%02x", linear_to_ulaw(x));
    printf("\n");
    for (x = -32768;  x <= 32767;  x++)
        printf("%02x", linear_to_alaw(x));
    printf("\n");
    for (x = 0;  x < 256;  x++)
        printf("%04x", (uint16_t) ulaw_to_linear((uint8_t) x));
    printf("\n");
    for (x = 0;  x < 256;  x++)
        printf("%04x", (uint16_t) alaw_to_linear((uint8_t) x));
    printf("\n");
    return 0;
}

int main(int argc, char *argv[])
{
    if (argc >= 4 && strcmp(argv[1], "bench") == 0)
        return run_bench(argv[2], argv[3], argc - 4, argv + 4);
    if (argc >= 2 && strcmp(argv[1], "g711") == 0)
        return run_g711();
    if (argc >= 4 && strcmp(argv[1], "audio") == 0)
        return run_audio(strcmp(argv[2], "send") == 0, argv[3], argc - 4, argv + 4);
    fprintf(stderr, "usage: faxpeer audio send|recv FILE.tif [key=value ...]\n"
                    "       faxpeer bench SEND.tif RECV.tif [key=value ...]\n"
                    "       faxpeer g711\n");
    return 2;
}
