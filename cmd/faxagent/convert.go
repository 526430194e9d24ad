package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/faxagent/faxagent/imaging"
	"github.com/faxagent/faxagent/imaging/faxdoc"
	"github.com/faxagent/faxagent/imaging/render"
)

func runConvert(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("convert", flag.ContinueOnError)
	out := fs.String("o", "", "output `FILE` (.tif, .tiff, .pdf, .pbm, .png)")
	comp := fs.String("compression", "", "`COMPRESSION`: mh, mr or mmr (default mh for TIFF, mmr for PDF)")
	res := fs.String("resolution", "", "`RES`: standard, fine, superfine or ultrafine (default: keep fax TIFF pages' own, fine for pictures)")
	mode := fs.String("mode", "auto", "grey to black and white `MODE`: auto, threshold or dither")
	header := fs.String("header", "", "header line `TEMPLATE`: "+render.HeaderTokens)
	recipient := fs.String("recipient", "", "recipient's `NAME` for the header's %r")
	csid := fs.String("csid", "", "`CSID` for the header's %c")
	number := fs.String("number", "", "fax `NUMBER` for the header's %n")
	damaged := fs.Bool("keep-damaged", false, "accept TIFF pages with rows that fail to decode (concealed)")
	in, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if *out == "" || len(in) == 0 {
		return usageError("need input files and -o OUT")
	}
	o := faxdoc.Options{Resolution: imaging.Fine, KeepResolution: true, Header: *header,
		Fields: render.HeaderFields{CSID: *csid, Number: *number, Recipient: *recipient}}
	if *header != "" {
		if err := render.CheckHeader(*header); err != nil {
			return usageError(err.Error())
		}
	}
	o.AllowDamaged = *damaged
	if *res != "" {
		if o.Resolution, err = imaging.ParseResolution(*res); err != nil {
			return usageError(err.Error())
		}
		o.KeepResolution = false
	}
	if o.Mode, err = render.ParseMode(*mode); err != nil {
		return usageError(err.Error())
	}
	var wo faxdoc.WriteOptions
	if *comp != "" {
		if wo.Compression, err = imaging.ParseCompression(*comp); err != nil {
			return usageError(err.Error())
		}
	}
	wo.Software = "faxagent"
	if _, err := faxdoc.FormatOf(*out); err != nil {
		return usageError(err.Error())
	}
	n, err := faxdoc.Convert(context.Background(), in, o, *out, wo)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %s\n", *out, plural(n, "page"))
	return nil
}
