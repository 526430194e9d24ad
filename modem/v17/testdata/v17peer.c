/*
 * v17peer: SpanDSP's V.17 modem for faxagent's modem/v17 interop tests.
 *
 *   v17peer tx RATE L|S... < bits > samples
 *       one burst per L (long training) or S (short training) argument,
 *       LT or ST with the talker echo protection tone before it;
 *       stdin holds, per burst, a decimal bit count line then that many
 *       '0'/'1' characters; stdout gets 16-bit little-endian samples, the
 *       bursts separated by GAP samples of silence.
 *   v17peer rx RATE L:AT|S:AT... < samples > report
 *       stdout gets the received bits as '0'/'1' and the events on lines
 *       of their own ("\nE up", "\nE trained", "\nE failed", "\nE down").
 *       The receiver is restarted for each burst's long (L) or short (S)
 *       training when the input reaches sample AT, in the silence before
 *       the burst (S keeps the equaliser, as SpanDSP's fax.c does). A last
 *       line "C NS" gives the CPU time v17_rx took, in nanoseconds.
 *   v17peer bench RATE SECONDS
 *       CPU nanoseconds per second of signal for v17_tx and v17_rx over
 *       the same random data: "tx NS rx NS errors N bits M".
 *
 * Test harness only: faxagent's packages are pure Go and never link this.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <time.h>
#include <spandsp.h>

#define GAP 800
#define CHUNK 160

static char *bits;
static long nbits, bitpos;

static int get_bit(void *user)
{
    if (bitpos >= nbits)
        return SIG_STATUS_END_OF_DATA;
    return bits[bitpos++] == '1';
}

static long rx_pos;

static void put_bit(void *user, int bit)
{
    if (bit < 0) {
        if (getenv("V17PEER_LOG"))
            fprintf(stderr, "status %d at sample %ld\n", bit, rx_pos);
        switch (bit) {
        case SIG_STATUS_CARRIER_UP: fputs("\nE up\n", stdout); break;
        case SIG_STATUS_TRAINING_SUCCEEDED: fputs("\nE trained\n", stdout); break;
        case SIG_STATUS_TRAINING_FAILED: fputs("\nE failed\n", stdout); break;
        case SIG_STATUS_CARRIER_DOWN: fputs("\nE down\n", stdout); break;
        default: break;
        }
        return;
    }
    fputc(bit ? '1' : '0', stdout);
}

static int do_tx(int rate, int nburst, char **kinds)
{
    v17_tx_state_t *tx = v17_tx_init(NULL, rate, 0, get_bit, NULL);
    int16_t buf[CHUNK];
    int16_t zero[GAP];
    memset(zero, 0, sizeof(zero));
    for (int b = 0; b < nburst; b++) {
        if (scanf("%ld", &nbits) != 1 || nbits < 0)
            return 2;
        free(bits);
        bits = malloc(nbits + 1);
        for (long i = 0; i < nbits; i++) {
            int c;
            do c = getchar(); while (c == '\n' || c == ' ');
            if (c == EOF)
                return 2;
            bits[i] = (char) c;
        }
        bitpos = 0;
        v17_tx_restart(tx, rate, strchr(kinds[b], 'T') != NULL, kinds[b][0] == 'S');
        for (;;) {
            int n = v17_tx(tx, buf, CHUNK);
            fwrite(buf, sizeof(int16_t), n, stdout);
            if (n < CHUNK)
                break;
        }
        fwrite(zero, sizeof(int16_t), GAP, stdout);
    }
    return 0;
}

static double cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static double rx_cpu;

static int do_rx(int rate, int nburst, char **kinds)
{
    v17_rx_state_t *rx = v17_rx_init(NULL, rate, put_bit, NULL);
    int16_t buf[CHUNK];
    int burst = 0;
    long pos = 0;
    size_t n;
    if (getenv("V17PEER_LOG"))
        span_log_set_level(v17_rx_get_logging_state(rx), SPAN_LOG_SHOW_SEVERITY | SPAN_LOG_FLOW);
    v17_rx_restart(rx, rate, kinds[0][0] == 'S');
    for (;;) {
        /* Restart the receiver for each burst's training where the test
           says the gap before it is. */
        long want = CHUNK;
        if (burst + 1 < nburst) {
            long at = atol(kinds[burst + 1] + 2);
            if (at <= pos) {
                burst++;
                v17_rx_restart(rx, rate, kinds[burst][0] == 'S');
                continue;
            }
            if (at - pos < want)
                want = at - pos;
        }
        if ((n = fread(buf, sizeof(int16_t), want, stdin)) == 0)
            break;
        rx_pos = pos;
        double t0 = cpu_ns();
        v17_rx(rx, buf, (int) n);
        rx_cpu += cpu_ns() - t0;
        pos += n;
    }
    printf("\nC %.0f\n", rx_cpu);
    return 0;
}

static char *rx_bits;
static long rx_n, rx_cap, rx_trained;

static void bench_put_bit(void *user, int bit)
{
    if (bit < 0) {
        if (bit == SIG_STATUS_TRAINING_SUCCEEDED)
            rx_trained = 1;
        return;
    }
    if (rx_trained && rx_n < rx_cap)
        rx_bits[rx_n++] = (char) ('0' + bit);
}

static int do_bench(int rate, int seconds)
{
    long samples = 8000L * seconds;
    int16_t *sig = calloc(samples + 8000 * 4, sizeof(int16_t));
    nbits = (long) rate * seconds;
    bits = malloc(nbits);
    srand(1);
    for (long i = 0; i < nbits; i++)
        bits[i] = (rand() & 1) ? '1' : '0';
    v17_tx_state_t *tx = v17_tx_init(NULL, rate, 0, get_bit, NULL);
    long total = 0;
    double t0 = cpu_ns();
    for (;;) {
        int n = v17_tx(tx, sig + total, CHUNK);
        total += n;
        if (n < CHUNK)
            break;
    }
    double t1 = cpu_ns();
    rx_cap = nbits + 10000;
    rx_bits = malloc(rx_cap);
    v17_rx_state_t *rx = v17_rx_init(NULL, rate, bench_put_bit, NULL);
    double t2 = cpu_ns();
    for (long i = 0; i < total; i += CHUNK)
        v17_rx(rx, sig + i, (int) ((total - i < CHUNK) ? total - i : CHUNK));
    double t3 = cpu_ns();
    /* The received bits start with some of segment 4's ones. */
    long errors = -1;
    for (long off = 0; off < 400 && off < rx_n; off++) {
        long e = 0;
        for (long i = 0; i < nbits && off + i < rx_n; i++)
            e += rx_bits[off + i] != bits[i];
        if (off + nbits > rx_n)
            e += off + nbits - rx_n;
        if (errors < 0 || e < errors)
            errors = e;
    }
    double secs = (double) total / 8000.0;
    printf("tx %.0f rx %.0f errors %ld bits %ld\n", (t1 - t0) / secs, (t3 - t2) / secs, errors, nbits);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4)
        return 2;
    int rate = atoi(argv[2]);
    if (strcmp(argv[1], "tx") == 0)
        return do_tx(rate, argc - 3, argv + 3);
    if (strcmp(argv[1], "rx") == 0)
        return do_rx(rate, argc - 3, argv + 3);
    if (strcmp(argv[1], "bench") == 0)
        return do_bench(rate, atoi(argv[3]));
    return 2;
}
