/* Generates the t30/testdata/spandsp fixtures with SpanDSP 0.0.6
   (Debian libspandsp-dev): SpanDSP's own decode of DIS/DCS information
   fields, and the frames of real SpanDSP-to-SpanDSP fax calls.

   gcc -O1 -o gen gen.c -lspandsp -ltiff -lm
   # our encodings of spandspFIFCases, one frame in hex per line:
   ./gen decode < fifs.txt > fif_decode.txt
   # a two-page fine white TIFF:
   pbmmake -white 1728 300 > w.pbm
   pnmtotiff -g3 -xresolution 204 -yresolution 196 w.pbm > w.tif && tiffcp w.tif w.tif w2.tif
   ./gen w2.tif | grep -E '^[AB] Tx:' > call.log
   ./gen w2.tif ecm | grep -E '^[AB] Tx:' > call_ecm.log */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <tiffio.h>
#include <spandsp.h>

static void handler(int level, const char *text) { fputs(text, stdout); }

static int hexval(int c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; }

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "decode") == 0) {
        fax_state_t *f = fax_init(NULL, 1);
        t30_state_t *t = fax_get_t30_state(f);
        logging_state_t *l = t30_get_logging_state(t);
        span_log_set_level(l, SPAN_LOG_FLOW);
        span_log_set_message_handler(l, handler);
        char line[512];
        while (fgets(line, sizeof line, stdin)) {
            uint8_t buf[256];
            int n = 0;
            for (char *p = line; p[0] && p[1] && p[0] != '\n'; p += 2)
                buf[n++] = (uint8_t) (hexval(p[0]) << 4 | hexval(p[1]));
            printf("FRAME %s", line);
            t30_decode_dis_dtc_dcs(t, buf, n);
            printf("END\n");
        }
        return 0;
    }
    /* A real call: SpanDSP sender and receiver back to back in audio. */
    int ecm = argc > 2 && strcmp(argv[2], "ecm") == 0;
    fax_state_t *fa = fax_init(NULL, 1), *fb = fax_init(NULL, 0);
    t30_state_t *ta = fax_get_t30_state(fa), *tb = fax_get_t30_state(fb);
    logging_state_t *la = t30_get_logging_state(ta), *lb = t30_get_logging_state(tb);
    span_log_set_level(la, SPAN_LOG_FLOW | SPAN_LOG_SHOW_TAG);
    span_log_set_level(lb, SPAN_LOG_FLOW | SPAN_LOG_SHOW_TAG);
    span_log_set_tag(la, "A");
    span_log_set_tag(lb, "B");
    span_log_set_message_handler(la, handler);
    span_log_set_message_handler(lb, handler);
    t30_set_tx_ident(ta, "+1 555 0100");
    t30_set_tx_ident(tb, "+1 555 0199");
    t30_set_tx_file(ta, argv[1], -1, -1);
    t30_set_rx_file(tb, "/tmp/sd/rx.tif", -1);
    t30_set_ecm_capability(ta, ecm);
    t30_set_ecm_capability(tb, ecm);
    if (ecm) {
        t30_set_supported_compressions(ta, T30_SUPPORT_T4_1D_COMPRESSION | T30_SUPPORT_T4_2D_COMPRESSION | T30_SUPPORT_T6_COMPRESSION);
        t30_set_supported_compressions(tb, T30_SUPPORT_T4_1D_COMPRESSION | T30_SUPPORT_T4_2D_COMPRESSION | T30_SUPPORT_T6_COMPRESSION);
    }
    int16_t a[160], b[160];
    for (int i = 0; i < 8000 * 60 * 5 / 160; i++) {
        int na = fax_tx(fa, a, 160), nb = fax_tx(fb, b, 160);
        for (int k = na; k < 160; k++) a[k] = 0;
        for (int k = nb; k < 160; k++) b[k] = 0;
        fax_rx(fa, b, 160);
        fax_rx(fb, a, 160);
        if (!t30_call_active(ta) && !t30_call_active(tb)) break;
    }
    return 0;
}
