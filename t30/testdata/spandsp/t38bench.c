/* CPU per page of SpanDSP's own T.38 back-to-back terminals (for
   comparison with BenchmarkCall20Pages): two t38_terminal instances
   exchange IFP packets directly; the sender sends a multi-page TIFF.
   gcc -O2 -o t38bench t38bench.c -lspandsp -ltiff -lm
   ./t38bench pages.tif [ecm] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <time.h>
#include <tiffio.h>
#include <spandsp.h>

#define MAXQ 4096
typedef struct { uint8_t buf[MAXQ][512]; int len[MAXQ]; int n; } queue_t;
static queue_t qa, qb;
static int seq[2];

static int tx_handler(t38_core_state_t *s, void *user, const uint8_t *buf, int len, int count) {
    queue_t *q = (queue_t *) user;
    if (q->n < MAXQ && len <= 512) { memcpy(q->buf[q->n], buf, len); q->len[q->n++] = len; }
    return 0;
}

static int pages_done;
static int phase_d(t30_state_t *s, void *user, int result) { if (user) pages_done++; return T30_ERR_OK; }

int main(int argc, char **argv) {
    int ecm = argc > 2 && strcmp(argv[2], "ecm") == 0;
    t38_terminal_state_t *a = t38_terminal_init(NULL, 1, tx_handler, &qb);
    t38_terminal_state_t *b = t38_terminal_init(NULL, 0, tx_handler, &qa);
    t30_state_t *ta = t38_terminal_get_t30_state(a), *tb = t38_terminal_get_t30_state(b);
    t30_set_tx_file(ta, argv[1], -1, -1);
    t30_set_rx_file(tb, "/tmp/sd/t38rx.tif", -1);
    t30_set_ecm_capability(ta, ecm);
    t30_set_ecm_capability(tb, ecm);
    t30_set_supported_compressions(ta, T30_SUPPORT_T4_1D_COMPRESSION | T30_SUPPORT_T4_2D_COMPRESSION);
    t30_set_supported_compressions(tb, T30_SUPPORT_T4_1D_COMPRESSION | T30_SUPPORT_T4_2D_COMPRESSION);
    t30_set_phase_d_handler(tb, phase_d, (void *) 1);
    struct timespec t0, t1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    long samples = 0;
    for (;;) {
        int da = t38_terminal_send_timeout(a, 160);
        int db = t38_terminal_send_timeout(b, 160);
        samples += 160;
        for (int i = 0; i < qa.n; i++) t38_core_rx_ifp_packet(t38_terminal_get_t38_core_state(a), qa.buf[i], qa.len[i], seq[0]++);
        qa.n = 0;
        for (int i = 0; i < qb.n; i++) t38_core_rx_ifp_packet(t38_terminal_get_t38_core_state(b), qb.buf[i], qb.len[i], seq[1]++);
        qb.n = 0;
        if (da && db) break;
        if (samples > 8000L * 3600) break;
    }
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
    double cpu = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    t30_stats_t st;
    t30_get_transfer_statistics(tb, &st);
    printf("ecm=%d pages_rx=%d rate=%d compression=%d virtual_s=%.1f cpu_s=%.3f cpu_ms_per_page=%.2f\n",
           ecm, st.pages_rx, st.bit_rate, st.encoding, samples / 8000.0, cpu, pages_done ? cpu * 1000 / pages_done : 0.0);
    return 0;
}
