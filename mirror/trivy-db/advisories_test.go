package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// good is a valid entry that the cases below break one field at a time.
const good = `{"id": "CVE-2021-38561", "aliases": ["GHSA-ppp9-7jff-5vj2"], "ecosystem": "go",
  "package": "golang.org/x/text", "vulnerable_versions": ["< 0.3.7"], "patched_versions": ["0.3.7"],
  "severity": "HIGH", "title": "t", "description": "d"}`

func entry(replace ...string) string {
	s := good
	for i := 0; i+1 < len(replace); i += 2 {
		if !strings.Contains(s, replace[i]) {
			panic("test entry has no " + replace[i])
		}
		s = strings.Replace(s, replace[i], replace[i+1], 1)
	}
	return s
}

func TestValidationNamesEntryAndField(t *testing.T) {
	tests := []struct {
		name  string
		list  string
		wants []string // substrings of the error
	}{
		{"unknown ecosystem", "[" + good + "," + entry(`"ecosystem": "go"`, `"ecosystem": "golang"`) + "]",
			[]string{`entry 1 (CVE-2021-38561): field "ecosystem": unknown ecosystem "golang"`}},
		{"missing ecosystem", "[" + entry(`"ecosystem": "go",`, ``) + "]",
			[]string{`entry 0 (CVE-2021-38561): field "ecosystem": missing`}},
		{"bad severity", "[" + entry(`"HIGH"`, `"SEVERE"`) + "]",
			[]string{`entry 0 (CVE-2021-38561): field "severity": "SEVERE" is not one of`}},
		{"unknown severity", "[" + entry(`"HIGH"`, `"UNKNOWN"`) + "]",
			[]string{`field "severity": "UNKNOWN" is not one of`}},
		{"lower-case severity", "[" + entry(`"HIGH"`, `"high"`) + "]",
			[]string{`field "severity"`}},
		{"missing severity", "[" + entry(`"severity": "HIGH",`, ``) + "]",
			[]string{`field "severity": missing`}},
		{"missing id", "[" + entry(`"id": "CVE-2021-38561",`, ``) + "]",
			[]string{`entry 0: field "id": missing`}},
		{"bad id", "[" + entry(`"CVE-2021-38561"`, `"CVE-21-1"`) + "]",
			[]string{`field "id": "CVE-21-1" is neither a CVE ID`}},
		{"cve alias of a ghsa id", "[" + entry(`"CVE-2021-38561"`, `"GHSA-ppp9-7jff-5vj2"`, `["GHSA-ppp9-7jff-5vj2"]`, `["CVE-2021-38561"]`) + "]",
			[]string{`field "aliases[0]": "CVE-2021-38561" is a CVE ID: use it as the id`}},
		{"missing package", "[" + entry(`"package": "golang.org/x/text",`, ``) + "]",
			[]string{`entry 0 (CVE-2021-38561): field "package": missing`}},
		{"missing versions", "[" + entry(`"vulnerable_versions": ["< 0.3.7"],`, ``) + "]",
			[]string{`field "vulnerable_versions": missing`}},
		{"empty versions", "[" + entry(`["< 0.3.7"]`, `[]`) + "]",
			[]string{`field "vulnerable_versions": missing`}},
		{"unparsable range", "[" + entry(`"< 0.3.7"`, `"before 0.3.7"`) + "]",
			[]string{`field "vulnerable_versions[0]": "before 0.3.7" is not a comma-separated list`}},
		{"or in range", "[" + entry(`"< 0.3.7"`, `"< 0.3.7 || > 1"`) + "]",
			[]string{`field "vulnerable_versions[0]": "< 0.3.7 || > 1" uses ||`}},
		{"bad version", "[" + entry(`"< 0.3.7"`, `"< x.y"`) + "]",
			[]string{`field "vulnerable_versions[0]": "< x.y" is not a go version range Trivy can parse`}},
		{"patched inside vulnerable", "[" + entry(`["0.3.7"]`, `["0.3.6"]`) + "]",
			[]string{`field "patched_versions[0]": "0.3.6" is inside vulnerable range "<0.3.7"`}},
		{"missing title", "[" + entry(`"title": "t",`, ``) + "]",
			[]string{`field "title": missing`}},
		{"missing description", "[" + entry(`"description": "d"`, `"description": " "`) + "]",
			[]string{`field "description": missing`}},
		{"bad reference", "[" + entry(`"title"`, `"references": ["nvd"], "title"`) + "]",
			[]string{`field "references[0]": "nvd" is not an http(s) URL`}},
		{"bad published", "[" + entry(`"title"`, `"published": "26/12/2022", "title"`) + "]",
			[]string{`field "published": "26/12/2022" is neither RFC 3339`}},
		{"bad cvss", "[" + entry(`"title"`, `"cvss_v3": "AV:N", "title"`) + "]",
			[]string{`field "cvss_v3": "AV:N" does not start with CVSS:3.0/ or CVSS:3.1/`}},
		{"unknown field", "[" + entry(`"title"`, `"fixed": "0.3.7", "title"`) + "]",
			[]string{`entry 0: json: unknown field "fixed"`}},
		{"wrong type", "[" + entry(`["< 0.3.7"]`, `"< 0.3.7"`) + "]",
			[]string{`entry 0: json: cannot unmarshal string`}},
		{"duplicate", "[" + good + "," + good + "]",
			[]string{`entry 1 (CVE-2021-38561): field "package": go package "golang.org/x/text" already has this id in entry 0`}},
		{"same id, different severity", "[" + good + "," + entry(`"golang.org/x/text"`, `"golang.org/x/text/v2"`, `"HIGH"`, `"LOW"`) + "]",
			[]string{`entry 1 (CVE-2021-38561): field "severity": differs from entry 0`}},
		{"several problems at once", "[" + entry(`"HIGH"`, `"SEVERE"`, `"ecosystem": "go"`, `"ecosystem": "gomod"`) + "]",
			[]string{`field "severity"`, `field "ecosystem"`}},
		{"not a list", `{"id": "x"}`, []string{"not a JSON array"}},
		{"empty list", `[]`, []string{"advisory list is empty"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseAdvisories([]byte(tc.list))
			if err == nil {
				t.Fatal("parseAdvisories accepted an invalid list")
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\n  does not mention %q", err, w)
				}
			}
		})
	}
}

func TestValidEntriesPass(t *testing.T) {
	list := "[" + strings.Join([]string{
		good,
		// The same vulnerability in a second package, as GHSA files Terrapin.
		entry(`"golang.org/x/text"`, `"golang.org/x/text/v2"`),
		// Other ecosystems use their own version syntax.
		`{"id": "CVE-2022-42889", "aliases": ["GHSA-599f-7c49-w659"], "ecosystem": "maven",
		  "package": "org.apache.commons:commons-text", "vulnerable_versions": [">= 1.5, < 1.10.0"],
		  "patched_versions": ["1.10.0"], "severity": "CRITICAL", "title": "t", "description": "d"}`,
		`{"id": "GHSA-2c3f-4g5h-6j7m", "ecosystem": "npm", "package": "left-pad",
		  "vulnerable_versions": ["<= 1.2.0"], "severity": "MODERATE", "title": "t", "description": "d",
		  "published": "2020-01-02"}`,
		`{"id": "CVE-2020-0001", "ecosystem": "pip", "package": "Some_Package",
		  "vulnerable_versions": [">=1.0, <1.0.post1"], "patched_versions": ["1.0.post1"],
		  "severity": "LOW", "title": "t", "description": "d"}`,
	}, ",") + "]"
	recs, err := parseAdvisories([]byte(list))
	if err != nil {
		t.Fatalf("valid list rejected:\n%v", err)
	}
	if len(recs) != 5 {
		t.Fatalf("got %d records, want 5", len(recs))
	}
	if recs[4].pkgName != "some-package" {
		t.Errorf("pip package stored as %q, want the normalised name some-package", recs[4].pkgName)
	}
	bkt, _, err := recs[2].eco.bucketName()
	if err != nil || bkt != "maven::GitHub Security Advisory Maven" {
		t.Errorf("maven bucket = %q, %v", bkt, err)
	}
}

func TestNormalizeRange(t *testing.T) {
	for in, want := range map[string]string{
		"< 0.3.7":             "<0.3.7",
		"<0.3.7":              "<0.3.7",
		"0.3.7":               "0.3.7",
		">= 1.0.0 ,  < 1.2.3": ">=1.0.0, <1.2.3",
		"<= v1.2.0":           "<=v1.2.0",
		"= 2.0.0":             "=2.0.0",
	} {
		got, err := normalizeRange(in)
		if err != nil || got != want {
			t.Errorf("normalizeRange(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", " ", "< ", "<0.3.7 <0.4", "a || b", "1.0 - 2.0"} {
		if got, err := normalizeRange(bad); err == nil {
			t.Errorf("normalizeRange(%q) = %q, want an error", bad, got)
		}
	}
}

func TestRunExitCodes(t *testing.T) {
	dir := t.TempDir()
	valid := filepath.Join(dir, "ok.json")
	invalid := filepath.Join(dir, "bad.json")
	must(t, os.WriteFile(valid, []byte("["+good+"]"), 0o644))
	must(t, os.WriteFile(invalid, []byte("["+good+","+entry(`"HIGH"`, `"SEVERE"`)+"]"), 0o644))
	out := filepath.Join(dir, "out")

	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"ok", []string{"-advisories", valid, "-out", out, "-now", "2026-01-02T03:04:05Z"}, 0, ""},
		{"ok with archive", []string{"-advisories", valid, "-out", out, "-archive", filepath.Join(dir, "db.tar.gz")}, 0, ""},
		{"invalid list", []string{"-advisories", invalid, "-out", out}, 1, `entry 1 (CVE-2021-38561): field "severity"`},
		{"missing file", []string{"-advisories", filepath.Join(dir, "nope.json"), "-out", out}, 1, "no such file"},
		{"no flags", nil, 2, "-advisories and -out are required"},
		{"bad now", []string{"-advisories", valid, "-out", out, "-now", "yesterday"}, 2, "is not RFC 3339"},
		{"stray argument", []string{"-advisories", valid, "-out", out, "extra"}, 2, "unexpected argument"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tc.code, stderr.String())
			}
			if tc.stderr != "" && !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr %q does not mention %q", stderr.String(), tc.stderr)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(out, "trivy.db")); err != nil {
		t.Errorf("successful run left no trivy.db: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func tarNames(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(gz)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names, nil
		}
		if err != nil {
			return nil, err
		}
		names = append(names, h.Name)
	}
}
