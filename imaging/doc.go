// Package imaging owns the bilevel fax page and its codecs: the page model
// (packed 1-bit rows, 1 = black), ITU-T T.4 one-dimensional (MH) and
// two-dimensional (MR) coding, ITU-T T.6 (MMR) coding, and transcoding
// between them. Pages stream row by row: nothing here needs a whole document
// decoded in memory.
//
// Sub-packages own the file formats built on these codecs: imaging/tiff
// (TIFF Class F), imaging/pdf (PDF with CCITT images) and imaging/render
// (pictures to fax pages, header lines).
//
// imaging imports only the standard library and golang.org/x/image; it must
// never import any other package of this module.
package imaging
