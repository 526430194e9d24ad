/* spandspt4bench: the SpanDSP side of the T.4/T.6 encode comparison in
 * bench/codecs.sh.
 *
 * Usage: spandspt4bench IN.tif REPS
 * IN.tif is a multi-page bilevel TIFF (uncompressed). Its pages are loaded
 * into memory with libtiff first (not timed). Then, for each of MH, MR and
 * MMR, SpanDSP's T.4 transmitter (t4_tx, SpanDSP 0.0.6) codes every page
 * REPS times from memory: a row read handler hands it the page's rows
 * (MSB-first, 1 = black; one memcpy per row), t4_tx_start_page codes the
 * whole page (EOL before every row and RTC for MH and MR, EOFB for MMR, in
 * the line's bit order: first bit in the least significant bit of a byte)
 * into its buffer, and t4_tx_get_chunk copies the coded page out. That
 * start_page + get_chunk + end_page is timed (process CPU time). It prints
 * one line per codec:
 *   spandsp <codec> encode-mem <pages> <seconds> <pages/s> <bytes/page> <fnv1a>
 * where fnv1a hashes the coded bytes of every page of the first rep but
 * each page's last byte (SpanDSP pads it with ones, we and libtiff with
 * zeros), so that the script can check ours codes the same bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <tiffio.h>
#include <spandsp.h>

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct {
	uint32_t w, h;
	tsize_t stride;
	unsigned char *pix; /* MSB-first, 1 = black */
} page;

typedef struct {
	page *p;
	uint32_t row;
} reader;

static int read_row(void *user, uint8_t buf[], size_t len) {
	reader *r = user;
	if (r->row >= r->p->h)
		return 0;
	memcpy(buf, r->p->pix + (size_t)r->row * r->p->stride, len);
	r->row++;
	return (int)len;
}

static void quiet(const char *m, const char *f, va_list ap) { (void)m; (void)f; (void)ap; }

int main(int argc, char **argv) {
	if (argc < 3) {
		fprintf(stderr, "usage: %s IN.tif REPS\n", argv[0]);
		return 2;
	}
	int reps = atoi(argv[2]);
	TIFFSetWarningHandler(quiet);
	TIFF *in = TIFFOpen(argv[1], "r");
	if (!in) return 1;
	static page pages[1024];
	int n = 0;
	do {
		page *p = &pages[n];
		uint16_t photo = 0;
		TIFFGetField(in, TIFFTAG_IMAGEWIDTH, &p->w);
		TIFFGetField(in, TIFFTAG_IMAGELENGTH, &p->h);
		TIFFGetField(in, TIFFTAG_PHOTOMETRIC, &photo);
		p->stride = TIFFScanlineSize(in);
		p->pix = malloc(p->stride * p->h);
		for (uint32_t y = 0; y < p->h; y++) TIFFReadScanline(in, p->pix + y * p->stride, y, 0);
		if (photo == PHOTOMETRIC_MINISBLACK)
			for (tsize_t i = 0; i < p->stride * (tsize_t)p->h; i++) p->pix[i] ^= 0xff;
		n++;
	} while (n < 1024 && TIFFReadDirectory(in));
	TIFFClose(in);

	struct { const char *name; int enc; } codecs[] = {
		{"MH", T4_COMPRESSION_ITU_T4_1D},
		{"MR", T4_COMPRESSION_ITU_T4_2D},
		{"MMR", T4_COMPRESSION_ITU_T6},
	};
	size_t outcap = 4 << 20;
	uint8_t *out = malloc(outcap);
	for (int c = 0; c < 3; c++) {
		t4_tx_state_t *t = t4_tx_init(NULL, argv[1], -1, -1);
		if (!t) {
			fprintf(stderr, "spandspt4bench: t4_tx_init %s failed\n", argv[1]);
			return 1;
		}
		t4_tx_set_tx_encoding(t, codecs[c].enc);
		t4_tx_set_min_bits_per_row(t, 0);
		reader rd;
		t4_tx_set_row_read_handler(t, read_row, &rd);
		uint32_t hash = 2166136261u;
		long bytes = 0;
		double secs = 0;
		for (int r = 0; r < reps; r++) {
			for (int i = 0; i < n; i++) {
				rd.p = &pages[i];
				rd.row = 0;
				double s = now();
				if (t4_tx_start_page(t) < 0) {
					fprintf(stderr, "spandspt4bench: t4_tx_start_page failed\n");
					return 1;
				}
				int len = t4_tx_get_chunk(t, out, (int)outcap);
				t4_tx_end_page(t);
				secs += now() - s;
				if (r == 0) {
					bytes += len;
					for (int k = 0; k < len - 1; k++) hash = (hash ^ out[k]) * 16777619u;
				}
			}
		}
		t4_tx_free(t);
		printf("spandsp %s encode-mem %d %.6f %.1f %ld %08x\n", codecs[c].name, n * reps, secs, n * reps / secs, bytes / n, hash);
	}
	return 0;
}
