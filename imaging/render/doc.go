// Package render owns the conversion of pictures to bilevel fax pages and
// the fax header line.
//
//   - ToFax and ToFaxPages scale a picture to the fax page width (keeping
//     its aspect ratio in physical units, so the non-square fax pixels of
//     standard resolution halve the rows), convert it to grey (luma,
//     composited over white paper) and binarise it: a fixed threshold for
//     text and line art, Floyd–Steinberg error diffusion for photographs,
//     or a choice made from the grey histogram.
//   - Decode reads PNG, JPEG, GIF (first frame), TIFF and netpbm
//     (PBM/PGM/PPM, plain and raw) pictures with a pixel budget checked
//     from the header before any pixel is allocated; EncodePBM and
//     EncodePNG write pages out.
//   - LayoutText typesets UTF-8 text on A4 pages in Go Mono (margins, tab
//     stops, form feeds), one page at a time.
//   - Header expands the FaxCore header-line template (%d %t %c %n %p %s
//     with printf-like widths) and StampHeader, HeaderRows and OverlayRows
//     draw that line into the top rows of a page, whole or streamed.
//
// render imports only the standard library, golang.org/x/image and the
// parent package imaging; it must never import any other package of this
// module.
package render
