// Package faxdoc owns a fax document as the rest of the system sees it and
// is the one intake of every front door: the files a user submits (PDF,
// PostScript, UTF-8 text, TIFF of any kind, PNG, JPEG, GIF, PBM), recognised
// by Sniff, opened as one stream of fax pages at a fax width and resolution
// with an optional header line, and converted by Convert; and output files (TIFF Class F, PDF, PBM, PNG) chosen by extension,
// written to a temporary name and renamed only when complete, so a failed
// conversion leaves no partial file.
//
// Pages stream: a bilevel TIFF page is read, rescaled and stamped row by row,
// and passed through without re-encoding where its coding already fits.
//
// PDF and PostScript are rasterised by external programs (pdftoppm and
// pdfinfo from poppler-utils, gs from ghostscript) run with the caller's
// context, so the conversion budget and cancellation stop them.
//
// faxdoc imports package imaging and its sub-packages and the standard
// library; it must never import any other package of this module.
package faxdoc
