// Package tiff reads and writes TIFF files for fax: multi-page TIFF Class F
// (bilevel pages coded with ITU-T T.4 MH/MR or T.6 MMR) and, for reading,
// the common baseline forms a user may submit (uncompressed, PackBits, LZW,
// Deflate; bilevel, grey, RGB and palette pages).
//
// Reading streams: a Reader parses the IFD chain, and a PageReader decodes
// one strip at a time, so a long document is never decoded in memory at
// once. Hostile input (offsets beyond the file, IFD loops, huge dimensions,
// decompression bombs) gets an error naming the page, never a panic or an
// unbounded allocation. Page numbers in errors count from 1.
//
// Writing streams too: Writer codes each page's rows straight to the output
// and keeps only the offsets it must patch when the document is closed.
//
// Package tiff imports only the standard library, golang.org/x/image and
// package imaging; it must never import any other package of this module.
package tiff
