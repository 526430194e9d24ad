/* libtiffbench: the libtiff side of bench/codecs.sh.
 *
 * Usage: libtiffbench IN.tif REPS
 * IN.tif is a multi-page bilevel TIFF (uncompressed). For each codec (g3 1D,
 * g3 2D, g4) it writes every page REPS times into a TIFF file on /dev/shm,
 * then reads that file back REPS times, and prints one line per codec and
 * direction:
 *   libtiff <codec> <encode|decode> <pages> <seconds> <pages/s> <bytes/page>
 * Only the strip write (with its directory) and the strip read are timed, not
 * opening or closing the file; the file lives on /dev/shm, as codecbench's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <tiffio.h>

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); /* CPU time: fair on a busy machine */
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct {
	uint32_t w, h;
	float xres, yres;
	unsigned char *pix; /* MSB-first, 1 = black (WhiteIsZero) */
	tsize_t size;
} page;

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
	page pages[1024];
	int n = 0;
	do {
		page *p = &pages[n];
		uint16_t photo = 0;
		TIFFGetField(in, TIFFTAG_IMAGEWIDTH, &p->w);
		TIFFGetField(in, TIFFTAG_IMAGELENGTH, &p->h);
		TIFFGetField(in, TIFFTAG_PHOTOMETRIC, &photo);
		if (!TIFFGetField(in, TIFFTAG_XRESOLUTION, &p->xres)) p->xres = 204;
		if (!TIFFGetField(in, TIFFTAG_YRESOLUTION, &p->yres)) p->yres = 196;
		tsize_t sl = TIFFScanlineSize(in);
		p->size = sl * p->h;
		p->pix = malloc(p->size);
		for (uint32_t y = 0; y < p->h; y++) TIFFReadScanline(in, p->pix + y * sl, y, 0);
		if (photo == PHOTOMETRIC_MINISBLACK)
			for (tsize_t i = 0; i < p->size; i++) p->pix[i] ^= 0xff;
		n++;
	} while (n < 1024 && TIFFReadDirectory(in));
	TIFFClose(in);

	struct { const char *name; int comp; uint32_t opt; } codecs[] = {
		{"MH", COMPRESSION_CCITTFAX3, 0},
		{"MR", COMPRESSION_CCITTFAX3, GROUP3OPT_2DENCODING},
		{"MMR", COMPRESSION_CCITTFAX4, 0},
	};
	char path[256];
	snprintf(path, sizeof path, "/dev/shm/libtiffbench-%d.tif", (int)getpid());
	unsigned char *buf = malloc(8 << 20);
	for (int c = 0; c < 3; c++) {
		double t0 = now(), enc = 0;
		long bytes = 0;
		for (int r = 0; r < reps; r++) {
			TIFF *out = TIFFOpen(path, "w");
			for (int i = 0; i < n; i++) {
				page *p = &pages[i];
				TIFFSetField(out, TIFFTAG_IMAGEWIDTH, p->w);
				TIFFSetField(out, TIFFTAG_IMAGELENGTH, p->h);
				TIFFSetField(out, TIFFTAG_BITSPERSAMPLE, 1);
				TIFFSetField(out, TIFFTAG_SAMPLESPERPIXEL, 1);
				TIFFSetField(out, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISWHITE);
				TIFFSetField(out, TIFFTAG_COMPRESSION, codecs[c].comp);
				if (codecs[c].comp == COMPRESSION_CCITTFAX3)
					TIFFSetField(out, TIFFTAG_GROUP3OPTIONS, codecs[c].opt | GROUP3OPT_FILLBITS);
				TIFFSetField(out, TIFFTAG_ROWSPERSTRIP, p->h);
				TIFFSetField(out, TIFFTAG_XRESOLUTION, p->xres);
				TIFFSetField(out, TIFFTAG_YRESOLUTION, p->yres);
				TIFFSetField(out, TIFFTAG_RESOLUTIONUNIT, RESUNIT_INCH);
				double s = now();
				TIFFWriteEncodedStrip(out, 0, p->pix, p->size);
				TIFFWriteDirectory(out); /* flushes and encodes */
				enc += now() - s;
			}
			TIFFClose(out);
		}
		(void)t0;
		/* decode */
		TIFF *rd = TIFFOpen(path, "r");
		double dec = 0;
		int pagesDecoded = 0;
		for (int r = 0; r < reps; r++) {
			TIFFSetDirectory(rd, 0);
			do {
				bytes += r == 0 ? (long)TIFFRawStripSize(rd, 0) : 0;
				double s = now();
				TIFFReadEncodedStrip(rd, 0, buf, (tsize_t)-1);
				dec += now() - s;
				pagesDecoded++;
			} while (TIFFReadDirectory(rd));
		}
		TIFFClose(rd);
		printf("libtiff %s encode %d %.6f %.1f %ld\n", codecs[c].name, n * reps, enc, n * reps / enc, bytes / n);
		printf("libtiff %s decode %d %.6f %.1f %ld\n", codecs[c].name, pagesDecoded, dec, pagesDecoded / dec, bytes / n);
	}
	unlink(path);
	return 0;
}
