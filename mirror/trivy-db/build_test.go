package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/aquasecurity/trivy-db/pkg/db"
	"github.com/aquasecurity/trivy-db/pkg/metadata"
	"github.com/aquasecurity/trivy-db/pkg/types"
	"github.com/aquasecurity/trivy-db/pkg/vulnsrc/vulnerability"
)

const goBucket = "go::GitHub Security Advisory Go"

var testNow = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

const smallList = `[
  {
    "id": "CVE-2021-38561",
    "aliases": ["GHSA-ppp9-7jff-5vj2"],
    "ecosystem": "go",
    "package": "golang.org/x/text",
    "vulnerable_versions": ["< 0.3.7"],
    "patched_versions": ["0.3.7"],
    "severity": "HIGH",
    "cvss_v3": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
    "title": "golang.org/x/text/language Out-of-bounds Read vulnerability",
    "description": "can panic with an out-of-bounds read during BCP 47 language tag parsing",
    "references": ["https://nvd.nist.gov/vuln/detail/CVE-2021-38561", "https://github.com/advisories/GHSA-ppp9-7jff-5vj2"],
    "published": "2022-12-26T06:30:22Z"
  },
  {
    "id": "CVE-2022-32149",
    "aliases": ["GHSA-69ch-w2m2-3vjp"],
    "ecosystem": "go",
    "package": "golang.org/x/text",
    "vulnerable_versions": ["<0.3.8"],
    "patched_versions": ["0.3.8"],
    "severity": "HIGH",
    "title": "golang.org/x/text/language Denial of service via crafted Accept-Language header",
    "description": "quadratic time complexity in the BCP 47 tag parser"
  },
  {
    "id": "CVE-2023-48795",
    "aliases": ["GHSA-45x7-px36-x8w8"],
    "ecosystem": "go",
    "package": "golang.org/x/crypto",
    "vulnerable_versions": [">= 0.0.0, < 0.17.0"],
    "patched_versions": ["0.17.0"],
    "severity": "MODERATE",
    "title": "Terrapin",
    "description": "prefix truncation attack against SSH",
    "published": "2023-12-18"
  },
  {
    "id": "CVE-2024-45337",
    "aliases": ["GHSA-v778-237x-gjrc"],
    "ecosystem": "go",
    "package": "golang.org/x/crypto",
    "vulnerable_versions": ["< 0.31.0"],
    "patched_versions": ["0.31.0"],
    "severity": "CRITICAL",
    "title": "Misuse of ServerConfig.PublicKeyCallback may cause authorization bypass in golang.org/x/crypto",
    "description": "authorization bypass"
  }
]`

func buildFrom(t *testing.T, list string) string {
	t.Helper()
	recs, err := parseAdvisories([]byte(list))
	if err != nil {
		t.Fatalf("parseAdvisories: %v", err)
	}
	dir := t.TempDir()
	if err := Build(recs, dir, testNow); err != nil {
		t.Fatalf("Build: %v", err)
	}
	return dir
}

// openDB opens a built DB through trivy-db, as Trivy does, for the test.
func openDB(t *testing.T, dir string) db.Config {
	t.Helper()
	if err := db.Init(dir); err != nil {
		t.Fatalf("db.Init: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db.Config{}
}

func advisoriesByID(t *testing.T, dbc db.Config, bucket, pkg string) map[string]types.Advisory {
	t.Helper()
	advs, err := dbc.GetAdvisories(bucket, pkg)
	if err != nil {
		t.Fatalf("GetAdvisories(%q, %q): %v", bucket, pkg, err)
	}
	m := map[string]types.Advisory{}
	for _, a := range advs {
		m[a.VulnerabilityID] = a
	}
	return m
}

func TestBuildReadsBackThroughTrivyDB(t *testing.T) {
	dir := buildFrom(t, smallList)
	dbc := openDB(t, dir)

	text := advisoriesByID(t, dbc, goBucket, "golang.org/x/text")
	if len(text) != 2 {
		t.Fatalf("golang.org/x/text advisories = %v, want CVE-2021-38561 and CVE-2022-32149", keys(text))
	}
	wantDS := types.DataSource{
		ID:   vulnerability.GHSA,
		Name: "GitHub Security Advisory Go",
		URL:  "https://github.com/advisories?query=type%3Areviewed+ecosystem%3Ago",
	}
	for id, want := range map[string]struct {
		vendor, vulnerable, patched string
	}{
		"CVE-2021-38561": {"GHSA-ppp9-7jff-5vj2", "<0.3.7", "0.3.7"},
		"CVE-2022-32149": {"GHSA-69ch-w2m2-3vjp", "<0.3.8", "0.3.8"},
	} {
		a, ok := text[id]
		if !ok {
			t.Errorf("%s missing from %s", id, goBucket)
			continue
		}
		if !slices.Equal(a.VendorIDs, []string{want.vendor}) {
			t.Errorf("%s VendorIDs = %v, want [%s]", id, a.VendorIDs, want.vendor)
		}
		if !slices.Equal(a.VulnerableVersions, []string{want.vulnerable}) {
			t.Errorf("%s VulnerableVersions = %q, want [%q]", id, a.VulnerableVersions, want.vulnerable)
		}
		if !slices.Equal(a.PatchedVersions, []string{want.patched}) {
			t.Errorf("%s PatchedVersions = %q, want [%q]", id, a.PatchedVersions, want.patched)
		}
		if a.DataSource == nil || *a.DataSource != wantDS {
			t.Errorf("%s DataSource = %+v, want %+v", id, a.DataSource, wantDS)
		}
	}

	crypto := advisoriesByID(t, dbc, goBucket, "golang.org/x/crypto")
	if got := crypto["CVE-2023-48795"].VulnerableVersions; !slices.Equal(got, []string{">=0.0.0, <0.17.0"}) {
		t.Errorf("CVE-2023-48795 VulnerableVersions = %q, want normalised [\">=0.0.0, <0.17.0\"]", got)
	}

	// Trivy looks Go packages up by every bucket with the "go::" prefix.
	if got := advisoriesByID(t, dbc, "go::", "golang.org/x/text"); len(got) != 2 {
		t.Errorf("prefix lookup go:: found %v, want 2 advisories", keys(got))
	}
	if got := advisoriesByID(t, dbc, goBucket, "golang.org/x/net"); len(got) != 0 {
		t.Errorf("golang.org/x/net has advisories %v, want none", keys(got))
	}

	v, err := dbc.GetVulnerability("CVE-2021-38561")
	if err != nil {
		t.Fatalf("GetVulnerability: %v", err)
	}
	if v.Title != "golang.org/x/text/language Out-of-bounds Read vulnerability" {
		t.Errorf("Title = %q", v.Title)
	}
	if !strings.Contains(v.Description, "BCP 47") {
		t.Errorf("Description = %q", v.Description)
	}
	if v.Severity != "HIGH" {
		t.Errorf("Severity = %q, want HIGH", v.Severity)
	}
	if got := v.VendorSeverity[vulnerability.GHSA]; got != types.SeverityHigh || len(v.VendorSeverity) != 1 {
		t.Errorf("VendorSeverity = %v, want {ghsa: HIGH}", v.VendorSeverity)
	}
	if c := v.CVSS[vulnerability.GHSA]; c.V3Vector != "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H" || c.V3Score != 7.5 {
		t.Errorf("CVSS = %+v, want the vector with score 7.5", v.CVSS)
	}
	wantRefs := []string{"https://github.com/advisories/GHSA-ppp9-7jff-5vj2", "https://nvd.nist.gov/vuln/detail/CVE-2021-38561"}
	if !slices.Equal(v.References, wantRefs) {
		t.Errorf("References = %q, want %q", v.References, wantRefs)
	}
	if v.PublishedDate == nil || !v.PublishedDate.Equal(time.Date(2022, 12, 26, 6, 30, 22, 0, time.UTC)) {
		t.Errorf("PublishedDate = %v", v.PublishedDate)
	}

	for id, want := range map[string]types.Severity{
		"CVE-2022-32149": types.SeverityHigh,
		"CVE-2023-48795": types.SeverityMedium, // given as GHSA's MODERATE
		"CVE-2024-45337": types.SeverityCritical,
	} {
		v, err := dbc.GetVulnerability(id)
		if err != nil {
			t.Errorf("GetVulnerability(%s): %v", id, err)
			continue
		}
		if v.VendorSeverity[vulnerability.GHSA] != want || v.Severity != want.String() {
			t.Errorf("%s severity = %q / %v, want %s", id, v.Severity, v.VendorSeverity, want)
		}
	}
	if v, _ := dbc.GetVulnerability("CVE-2022-32149"); v.PublishedDate != nil || len(v.CVSS) != 0 {
		t.Errorf("CVE-2022-32149 has PublishedDate %v / CVSS %v, want none (not given)", v.PublishedDate, v.CVSS)
	}
	if v, _ := dbc.GetVulnerability("CVE-2023-48795"); v.PublishedDate == nil || !v.PublishedDate.Equal(time.Date(2023, 12, 18, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("CVE-2023-48795 PublishedDate = %v, want 2023-12-18", v.PublishedDate)
	}

	// Only the buckets Trivy reads remain, as after trivy-db's own build.
	var top []string
	err = dbc.Connection().View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			top = append(top, string(name))
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"data-source", goBucket, "vulnerability"}; !slices.Equal(top, want) {
		t.Errorf("top-level buckets = %q, want %q", top, want)
	}
}

func TestBuildWritesMetadata(t *testing.T) {
	dir := buildFrom(t, smallList)
	md, err := metadata.NewClient(dir).Get()
	if err != nil {
		t.Fatal(err)
	}
	if md.Version != 2 { // db.SchemaVersion, what Trivy v0.74.0 accepts
		t.Errorf("Version = %d, want 2", md.Version)
	}
	if !md.UpdatedAt.Equal(testNow) || !md.DownloadedAt.Equal(testNow) {
		t.Errorf("UpdatedAt/DownloadedAt = %v / %v, want %v", md.UpdatedAt, md.DownloadedAt, testNow)
	}
	if !md.NextUpdate.Equal(testNow.Add(nextUpdateAfter)) || md.NextUpdate.Before(testNow.AddDate(9, 0, 0)) {
		t.Errorf("NextUpdate = %v, want about ten years after %v", md.NextUpdate, testNow)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"metadata.json", "trivy.db"}) {
		t.Errorf("output dir holds %q, want only metadata.json and trivy.db", names)
	}
}

func TestBuildIsDeterministic(t *testing.T) {
	var first []byte
	for i := range 5 {
		dir := buildFrom(t, smallList)
		got, err := os.ReadFile(filepath.Join(dir, "trivy.db"))
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = got
		} else if !bytes.Equal(first, got) {
			t.Fatalf("build %d wrote a different trivy.db than build 0", i)
		}
	}
}

func TestBuildReplacesExistingDB(t *testing.T) {
	dir := buildFrom(t, smallList)
	one := `[{"id": "CVE-2020-27813", "ecosystem": "go", "package": "github.com/gorilla/websocket",
	  "vulnerable_versions": ["< 1.4.1"], "severity": "HIGH", "title": "t", "description": "d"}]`
	recs, err := parseAdvisories([]byte(one))
	if err != nil {
		t.Fatal(err)
	}
	if err := Build(recs, dir, testNow); err != nil {
		t.Fatal(err)
	}
	dbc := openDB(t, dir)
	if got := advisoriesByID(t, dbc, goBucket, "golang.org/x/text"); len(got) != 0 {
		t.Errorf("old advisories survived a rebuild: %v", keys(got))
	}
	if got := advisoriesByID(t, dbc, goBucket, "github.com/gorilla/websocket"); len(got) != 1 {
		t.Errorf("new advisory missing: %v", keys(got))
	}
}

func TestArchiveHoldsTheDB(t *testing.T) {
	dir := buildFrom(t, smallList)
	a := filepath.Join(t.TempDir(), "db.tar.gz")
	b := filepath.Join(t.TempDir(), "db.tar.gz")
	for _, p := range []string{a, b} {
		if err := WriteArchive(dir, p, testNow); err != nil {
			t.Fatal(err)
		}
	}
	ab, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if len(ab) == 0 || !bytes.Equal(ab, bb) {
		t.Fatalf("archives differ or are empty (%d, %d bytes)", len(ab), len(bb))
	}
	names, err := tarNames(a)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, []string{"trivy.db", "metadata.json"}) {
		t.Errorf("archive holds %q", names)
	}
}

// The advisory list kept in the repository must stay valid and build.
func TestRepositoryAdvisoryList(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "advisories.json"))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := parseAdvisories(data)
	if err != nil {
		t.Fatalf("mirror/advisories.json is invalid:\n%v", err)
	}
	dir := t.TempDir()
	if err := Build(recs, dir, testNow); err != nil {
		t.Fatal(err)
	}
	dbc := openDB(t, dir)
	text := advisoriesByID(t, dbc, goBucket, "golang.org/x/text")
	for id, fixed := range map[string]string{"CVE-2021-38561": "0.3.7", "CVE-2022-32149": "0.3.8"} {
		if got := text[id].PatchedVersions; !slices.Equal(got, []string{fixed}) {
			t.Errorf("%s PatchedVersions = %q, want [%s]", id, got, fixed)
		}
		if v, err := dbc.GetVulnerability(id); err != nil || v.VendorSeverity[vulnerability.GHSA] != types.SeverityHigh {
			t.Errorf("%s: severity %v, err %v; want HIGH", id, v.VendorSeverity, err)
		}
	}
}

func keys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// The Trivy reports recorded in mirror/testdata must agree with the advisory
// list they were produced from.
func TestRecordedReportsMatchAdvisories(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "advisories.json"))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := parseAdvisories(data)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]record{}
	for _, r := range recs {
		byID[r.vulnID+" "+r.pkgName] = r
	}

	type report struct {
		Results []struct {
			Type            string
			Vulnerabilities []struct {
				VulnerabilityID  string
				VendorIDs        []string
				PkgName          string
				InstalledVersion string
				FixedVersion     string
				Severity         string
				SeveritySource   string
			}
		}
	}
	read := func(name string) report {
		t.Helper()
		b, err := os.ReadFile(filepath.Join("..", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		var r report
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return r
	}

	vuln := read("trivy-report-vulnerable.json")
	var found []string
	for _, res := range vuln.Results {
		for _, v := range res.Vulnerabilities {
			found = append(found, v.VulnerabilityID)
			r, ok := byID[v.VulnerabilityID+" "+v.PkgName]
			if !ok {
				t.Errorf("report finding %s in %s is not in advisories.json", v.VulnerabilityID, v.PkgName)
				continue
			}
			if v.FixedVersion != strings.Join(r.patched, ", ") || v.Severity != r.severity.String() ||
				v.SeveritySource != "ghsa" || !slices.Equal(v.VendorIDs, r.vendorIDs) {
				t.Errorf("report finding %+v disagrees with advisories.json entry %d", v, r.index)
			}
		}
	}
	sort.Strings(found)
	if !slices.Equal(found, []string{"CVE-2021-38561", "CVE-2022-32149"}) {
		t.Errorf("vulnerable report lists %q, want CVE-2021-38561 and CVE-2022-32149", found)
	}

	clean := read("trivy-report-clean.json")
	if len(clean.Results) == 0 {
		t.Error("clean report has no results: the binary was not scanned")
	}
	for _, res := range clean.Results {
		if len(res.Vulnerabilities) != 0 {
			t.Errorf("clean report lists %d vulnerabilities", len(res.Vulnerabilities))
		}
	}
}
