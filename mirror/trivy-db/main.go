// Command trivydb-build writes a Trivy vulnerability DB (schema 2) from
// seamline's advisory list, so Trivy can scan with no network access.
//
//	trivydb-build -advisories mirror/advisories.json -out DIR [-now RFC3339] [-archive FILE]
//
// It writes DIR/trivy.db and DIR/metadata.json, the layout Trivy expects in
// CACHE/db. With -archive it also packs both into a .tar.gz, the layer format
// Trivy pulls its DB as from an OCI registry. Exit status: 0 on success, 1 when
// the advisory list is invalid or the DB cannot be written, 2 on bad usage.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aquasecurity/trivy-db/pkg/db"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("trivydb-build", flag.ContinueOnError)
	fs.SetOutput(stderr)
	advisories := fs.String("advisories", "", "path to the advisory list (JSON; see mirror/README.md)")
	out := fs.String("out", "", "directory to write trivy.db and metadata.json into")
	nowFlag := fs.String("now", "", "build time as RFC 3339 (default: the current time); sets UpdatedAt, DownloadedAt and NextUpdate")
	archive := fs.String("archive", "", "also write trivy.db and metadata.json as a .tar.gz layer to this path")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: trivydb-build -advisories PATH -out DIR [-now RFC3339] [-archive FILE]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "trivydb-build: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	if *advisories == "" || *out == "" {
		fmt.Fprintln(stderr, "trivydb-build: -advisories and -out are required")
		fs.Usage()
		return 2
	}
	now := time.Now().UTC().Truncate(time.Second)
	if *nowFlag != "" {
		t, err := time.Parse(time.RFC3339, *nowFlag)
		if err != nil {
			fmt.Fprintf(stderr, "trivydb-build: -now %q is not RFC 3339 (e.g. 2026-01-02T15:04:05Z)\n", *nowFlag)
			return 2
		}
		now = t.UTC()
	}

	data, err := os.ReadFile(*advisories)
	if err != nil {
		fmt.Fprintf(stderr, "trivydb-build: %v\n", err)
		return 1
	}
	recs, err := parseAdvisories(data)
	if err != nil {
		fmt.Fprintf(stderr, "trivydb-build: %s is invalid:\n", *advisories)
		for _, e := range unjoin(err) {
			fmt.Fprintf(stderr, "  %v\n", e)
		}
		return 1
	}
	if err := Build(recs, *out, now); err != nil {
		fmt.Fprintf(stderr, "trivydb-build: %v\n", err)
		return 1
	}
	if *archive != "" {
		if err := WriteArchive(*out, *archive, now); err != nil {
			fmt.Fprintf(stderr, "trivydb-build: writing %s: %v\n", *archive, err)
			return 1
		}
	}
	fmt.Fprintf(stdout, "trivydb-build: wrote %d advisories to %s (schema %d, updated %s)\n",
		len(recs), *out, db.SchemaVersion, now.Format(time.RFC3339))
	return 0
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
