package core

import (
	"strings"
	"time"

	"github.com/faxagent/faxagent/imaging/render"
)

// CoverFields are a submission's cover page fields. A cover page is made
// once per message: with several recipients, To, Company and Fax list
// them all (names, or numbers where a recipient has no name).
func CoverFields(sub Submission, now time.Time) render.CoverFields {
	var to, comp, fax []string
	for _, r := range sub.Recipients {
		to = append(to, firstNonBlank(r.Name, r.Fax))
		if r.Company != "" {
			comp = append(comp, r.Company)
		}
		fax = append(fax, r.Fax)
	}
	return render.CoverFields{
		To: strings.Join(to, ", "), Company: strings.Join(comp, ", "), Fax: strings.Join(fax, ", "),
		From: sub.SenderName, FromCompany: sub.SenderCompany, Subject: sub.Subject, Note: sub.Note,
		Date: now.Format("2006-01-02 15:04"),
	}
}

func firstNonBlank(a, b string) string {
	if strings.TrimSpace(a) != "" {
		return a
	}
	return b
}
