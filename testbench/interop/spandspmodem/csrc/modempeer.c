/*
 * modempeer: SpanDSP's V.27 ter and V.29 data pumps as a batch filter, for
 * faxagent's modem interop tests (testbench/interop/spandspmodem).
 *
 *   modempeer tx v27ter|v29 RATE [tep]
 *                                  stdin: bits as ASCII '0'/'1' (anything
 *                                  else ignored); stdout: the whole
 *                                  transmission (training, data, turn-off)
 *                                  as 16-bit little-endian samples at 8 kHz;
 *                                  with tep, the training starts with the
 *                                  talker echo protection tone
 *   modempeer rx v27ter|v29 RATE   stdin: samples; stdout: '0'/'1' for each
 *                                  bit and U (carrier up), T (training
 *                                  succeeded), F (training failed), D
 *                                  (carrier down) for status changes
 *
 * On exit it writes "cpu_ns N" to stderr: the process CPU time of the loop
 * over the modem calls (160 samples a call; input read and output written
 * outside it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <time.h>
#include <spandsp.h>

static char *bits;
static size_t nbits, bitpos;
static int64_t cpu_ns;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int get_bit(void *user_data)
{
    if (bitpos >= nbits)
        return SIG_STATUS_END_OF_DATA;
    return bits[bitpos++];
}

static void put_bit(void *user_data, int bit)
{
    if (bit >= 0) {
        putchar(bit ? '1' : '0');
        return;
    }
    switch (bit) {
    case SIG_STATUS_CARRIER_UP: putchar('U'); break;
    case SIG_STATUS_TRAINING_SUCCEEDED: putchar('T'); break;
    case SIG_STATUS_TRAINING_FAILED: putchar('F'); break;
    case SIG_STATUS_CARRIER_DOWN: putchar('D'); break;
    default: break;
    }
}

static void status(void *user_data, int st)
{
    put_bit(user_data, st);
}

static void read_bits(void)
{
    size_t cap = 1 << 16;
    int c;
    bits = malloc(cap);
    while ((c = getchar()) != EOF) {
        if (c != '0' && c != '1')
            continue;
        if (nbits == cap)
            bits = realloc(bits, cap *= 2);
        bits[nbits++] = (char) (c - '0');
    }
}

static int tx(const char *modem, int rate, int tep)
{
    int16_t *out;
    size_t len = 0, cap = 1 << 20;
    int n;
    int64_t t0;
    v27ter_tx_state_t *v27 = NULL;
    v29_tx_state_t *v29 = NULL;

    read_bits();
    if (strcmp(modem, "v27ter") == 0)
        v27 = v27ter_tx_init(NULL, rate, tep, get_bit, NULL);
    else
        v29 = v29_tx_init(NULL, rate, tep, get_bit, NULL);
    if (v27 == NULL && v29 == NULL)
        return 2;
    out = malloc(cap * sizeof(int16_t));
    t0 = now_ns();
    for (;;) {
        if (len + 160 > cap)
            out = realloc(out, (cap *= 2) * sizeof(int16_t));
        n = v27 ? v27ter_tx(v27, out + len, 160) : v29_tx(v29, out + len, 160);
        len += n;
        if (n < 160)
            break;
    }
    cpu_ns = now_ns() - t0;
    fwrite(out, sizeof(int16_t), len, stdout);
    return 0;
}

static int rx(const char *modem, int rate)
{
    int16_t *in;
    size_t len = 0, cap = 1 << 20, n, i;
    int64_t t0;
    v27ter_rx_state_t *v27 = NULL;
    v29_rx_state_t *v29 = NULL;

    if (strcmp(modem, "v27ter") == 0) {
        v27 = v27ter_rx_init(NULL, rate, put_bit, NULL);
        if (v27)
            v27ter_rx_set_modem_status_handler(v27, status, NULL);
    } else {
        v29 = v29_rx_init(NULL, rate, put_bit, NULL);
        if (v29)
            v29_rx_set_modem_status_handler(v29, status, NULL);
    }
    if (v27 == NULL && v29 == NULL)
        return 2;
    in = malloc(cap * sizeof(int16_t));
    while ((n = fread(in + len, sizeof(int16_t), cap - len, stdin)) > 0) {
        len += n;
        if (len == cap)
            in = realloc(in, (cap *= 2) * sizeof(int16_t));
    }
    /* Bits go to stdout's buffer as they come; the buffer is large enough
       that the timing below sees no write. */
    t0 = now_ns();
    for (i = 0;  i < len;  i += 160) {
        n = (len - i < 160)  ?  len - i  :  160;
        if (v27)
            v27ter_rx(v27, in + i, (int) n);
        else
            v29_rx(v29, in + i, (int) n);
    }
    cpu_ns = now_ns() - t0;
    return 0;
}

int main(int argc, char *argv[])
{
    int rc;
    static char obuf[1 << 22];

    setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
    if (argc < 4 || argc > 5 || (strcmp(argv[2], "v27ter") != 0 && strcmp(argv[2], "v29") != 0)) {
        fprintf(stderr, "usage: modempeer tx|rx v27ter|v29 RATE [tep]\n");
        return 2;
    }
    if (strcmp(argv[1], "tx") == 0)
        rc = tx(argv[2], atoi(argv[3]), argc == 5 && strcmp(argv[4], "tep") == 0);
    else if (strcmp(argv[1], "rx") == 0)
        rc = rx(argv[2], atoi(argv[3]));
    else
        rc = 2;
    fflush(stdout);
    fprintf(stderr, "cpu_ns %lld\n", (long long) cpu_ns);
    return rc;
}
