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
 * Planned (not yet implemented; the structure above is shared):
 *   terminal udp   LOCALPORT REMOTEPORT ...  a t38_terminal over UDPTL on
 *                                            127.0.0.1 in real time
 *   terminal pipe  ...                       the same, in lockstep virtual
 *                                            time over stdin/stdout
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <stdarg.h>

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

static void usage(void)
{
    fprintf(stderr, "usage: t38peer codec encode|decode VERSION\n"
                    "       t38peer terminal ...   (not implemented yet)\n");
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
    if (argc >= 2 && strcmp(argv[1], "terminal") == 0)
    {
        fprintf(stderr, "t38peer: terminal mode is not implemented yet\n");
        return 2;
    }
    usage();
    return 2;
}
