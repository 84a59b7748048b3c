package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	gem "github.com/aquasecurity/go-gem-version"
	npm "github.com/aquasecurity/go-npm-version/pkg"
	pep440 "github.com/aquasecurity/go-pep440-version"
	"github.com/aquasecurity/go-version/pkg/version"
	mvn "github.com/masahiro331/go-mvn-version"
	gocvss30 "github.com/pandatix/go-cvss/30"
	gocvss31 "github.com/pandatix/go-cvss/31"

	"github.com/aquasecurity/trivy-db/pkg/ecosystem"
	"github.com/aquasecurity/trivy-db/pkg/types"
	"github.com/aquasecurity/trivy-db/pkg/vulnsrc/bucket"
	"github.com/aquasecurity/trivy-db/pkg/vulnsrc/vulnerability"
)

// Advisory is one entry of seamline's advisory list (mirror/advisories.json).
// The schema is documented in mirror/README.md.
type Advisory struct {
	ID                 string   `json:"id"`
	Aliases            []string `json:"aliases,omitempty"`
	Ecosystem          string   `json:"ecosystem"`
	Package            string   `json:"package"`
	VulnerableVersions []string `json:"vulnerable_versions"`
	PatchedVersions    []string `json:"patched_versions,omitempty"`
	Severity           string   `json:"severity"`
	CVSSV3             string   `json:"cvss_v3,omitempty"`
	Title              string   `json:"title"`
	Description        string   `json:"description"`
	References         []string `json:"references,omitempty"`
	Published          string   `json:"published,omitempty"`
}

// record is a validated advisory, normalised into what trivy-db stores.
type record struct {
	index       int
	vulnID      string
	vendorIDs   []string
	eco         ecoSpec
	pkgName     string
	vulnerable  []string
	patched     []string
	severity    types.Severity
	cvssVector  string
	cvssScore   float64
	title       string
	description string
	references  []string
	published   *time.Time
}

// ecoSpec ties an ecosystem name used in advisories.json to the trivy-db
// bucket that Trivy reads for that ecosystem, and to the version syntax Trivy
// compares that ecosystem's versions with.
type ecoSpec struct {
	name      string         // as written in advisories.json
	trivy     ecosystem.Type // trivy-db ecosystem
	ghsaName  string         // GitHub's ecosystem name, used in the data-source name
	newBucket func(types.DataSource) (bucket.DataSourceBucket, error)
	// checkConstraint parses a constraint the way Trivy's comparer for this
	// ecosystem does (pkg/detector/library in Trivy).
	checkConstraint func(string) error
	// contains reports whether a bare version satisfies a constraint.
	contains func(constraint, ver string) (bool, error)
}

// The data source every advisory is filed under. seamline's advisories carry
// GitHub Security Advisory facts (IDs, ranges, severities), so they are stored
// the way trivy-db's own GHSA source stores them (pkg/vulnsrc/ghsa), under the
// same source ID, data-source names and URLs. Trivy then picks the severity
// from VendorSeverity["ghsa"], exactly as for the upstream DB.
const (
	sourceID           = vulnerability.GHSA
	dataSourceNameFmt  = "GitHub Security Advisory %s"
	dataSourceURLFmt   = "https://github.com/advisories?query=type%%3Areviewed+ecosystem%%3A%s"
	supportedEcosystem = "go, npm, pip, rubygems, cargo, composer, maven, nuget, erlang, pub"
)

func genericConstraint(s string) error {
	_, err := version.NewConstraints(s)
	return err
}

func genericContains(c, v string) (bool, error) {
	cs, err := version.NewConstraints(c)
	if err != nil {
		return false, err
	}
	ver, err := version.Parse(v)
	if err != nil {
		return false, err
	}
	return cs.Check(ver), nil
}

var ecosystems = map[string]ecoSpec{
	"go": {trivy: ecosystem.Go, ghsaName: "Go", newBucket: bucket.NewGo,
		checkConstraint: genericConstraint, contains: genericContains},
	"cargo": {trivy: ecosystem.Cargo, ghsaName: "Rust", newBucket: bucket.NewCargo,
		checkConstraint: genericConstraint, contains: genericContains},
	"composer": {trivy: ecosystem.Composer, ghsaName: "Composer", newBucket: bucket.NewComposer,
		checkConstraint: genericConstraint, contains: genericContains},
	"nuget": {trivy: ecosystem.NuGet, ghsaName: "NuGet", newBucket: bucket.NewNuGet,
		checkConstraint: genericConstraint, contains: genericContains},
	"erlang": {trivy: ecosystem.Erlang, ghsaName: "Erlang", newBucket: bucket.NewErlang,
		checkConstraint: genericConstraint, contains: genericContains},
	"pub": {trivy: ecosystem.Pub, ghsaName: "Pub", newBucket: bucket.NewPub,
		checkConstraint: genericConstraint, contains: genericContains},
	"npm": {trivy: ecosystem.Npm, ghsaName: "npm", newBucket: bucket.NewNpm,
		checkConstraint: func(s string) error { _, err := npm.NewConstraints(s); return err },
		contains: func(c, v string) (bool, error) {
			cs, err := npm.NewConstraints(c)
			if err != nil {
				return false, err
			}
			ver, err := npm.NewVersion(v)
			if err != nil {
				return false, err
			}
			return cs.Check(ver), nil
		}},
	"pip": {trivy: ecosystem.Pip, ghsaName: "pip", newBucket: bucket.NewPyPI,
		checkConstraint: func(s string) error { _, err := pep440.NewSpecifiers(s); return err },
		contains: func(c, v string) (bool, error) {
			cs, err := pep440.NewSpecifiers(c)
			if err != nil {
				return false, err
			}
			ver, err := pep440.Parse(v)
			if err != nil {
				return false, err
			}
			return cs.Check(ver), nil
		}},
	"rubygems": {trivy: ecosystem.RubyGems, ghsaName: "RubyGems", newBucket: bucket.NewRubyGems,
		checkConstraint: func(s string) error { _, err := gem.NewConstraints(s); return err },
		contains: func(c, v string) (bool, error) {
			cs, err := gem.NewConstraints(c)
			if err != nil {
				return false, err
			}
			ver, err := gem.NewVersion(v)
			if err != nil {
				return false, err
			}
			return cs.Check(ver), nil
		}},
	"maven": {trivy: ecosystem.Maven, ghsaName: "Maven", newBucket: bucket.NewMaven,
		checkConstraint: func(s string) error { _, err := mvn.NewConstraints(s); return err },
		contains: func(c, v string) (bool, error) {
			cs, err := mvn.NewConstraints(c)
			if err != nil {
				return false, err
			}
			ver, err := mvn.NewVersion(v)
			if err != nil {
				return false, err
			}
			return cs.Check(ver), nil
		}},
}

func init() {
	for name, spec := range ecosystems {
		spec.name = name
		ecosystems[name] = spec
	}
}

// dataSource is the trivy-db data source for an ecosystem, as trivy-db's GHSA
// source names it (e.g. bucket "go::GitHub Security Advisory Go").
func (e ecoSpec) dataSource() types.DataSource {
	return types.DataSource{
		ID:   sourceID,
		Name: fmt.Sprintf(dataSourceNameFmt, e.ghsaName),
		URL:  fmt.Sprintf(dataSourceURLFmt, strings.ToLower(e.ghsaName)),
	}
}

// bucketName is the per-ecosystem advisory bucket Trivy searches.
func (e ecoSpec) bucketName() (string, types.DataSource, error) {
	ds := e.dataSource()
	b, err := e.newBucket(ds)
	if err != nil {
		return "", ds, err
	}
	return b.Name(), ds, nil
}

var (
	cveRe       = regexp.MustCompile(`^CVE-\d{4}-\d{4,}$`)
	ghsaRe      = regexp.MustCompile(`^GHSA(-[23456789cfghjmpqrvwx]{4}){3}$`)
	otherIDRe   = regexp.MustCompile(`^[A-Z][A-Z0-9]*-[A-Za-z0-9._:-]+$`)
	constraintR = regexp.MustCompile(`^(>=|<=|!=|==|>|<|=|~>|~|\^)?\s*([^\s,<>=!~^|]+)$`)
	dateOnlyFmt = "2006-01-02"
)

// fieldError names the entry and field a problem was found in.
type fieldError struct {
	index int
	id    string
	field string
	msg   string
}

func (e fieldError) Error() string {
	if e.id != "" {
		return fmt.Sprintf("entry %d (%s): field %q: %s", e.index, e.id, e.field, e.msg)
	}
	return fmt.Sprintf("entry %d: field %q: %s", e.index, e.field, e.msg)
}

// parseAdvisories decodes and validates an advisory list. Every problem found
// is returned (joined), each naming the entry index (0-based) and field.
func parseAdvisories(data []byte) ([]record, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("advisory list is not a JSON array of objects: %w", err)
	}
	if len(raw) == 0 {
		return nil, errors.New("advisory list is empty")
	}

	var errs []error
	var recs []record
	for i, msg := range raw {
		var adv Advisory
		dec := json.NewDecoder(bytes.NewReader(msg))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&adv); err != nil {
			errs = append(errs, fmt.Errorf("entry %d: %w", i, err))
			continue
		}
		rec, entryErrs := validate(i, adv)
		if len(entryErrs) > 0 {
			errs = append(errs, entryErrs...)
			continue
		}
		recs = append(recs, rec)
	}
	errs = append(errs, crossCheck(recs)...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return recs, nil
}

func validate(i int, a Advisory) (record, []error) {
	var errs []error
	fail := func(field, format string, args ...any) {
		errs = append(errs, fieldError{index: i, id: a.ID, field: field, msg: fmt.Sprintf(format, args...)})
	}
	rec := record{index: i}

	// Identity. trivy-db keys GitHub advisories by their CVE when they have one
	// (pkg/vulnsrc/osv groupVulnIDs) and keeps the other IDs as vendor IDs;
	// seamline asks for that shape directly.
	switch {
	case a.ID == "":
		fail("id", "missing")
	case strings.TrimSpace(a.ID) != a.ID:
		fail("id", "has surrounding whitespace")
	case cveRe.MatchString(a.ID), ghsaRe.MatchString(a.ID):
	default:
		fail("id", "%q is neither a CVE ID (CVE-YYYY-NNNN) nor a GHSA ID (GHSA-xxxx-xxxx-xxxx)", a.ID)
	}
	seen := map[string]bool{a.ID: true}
	for j, alias := range a.Aliases {
		field := fmt.Sprintf("aliases[%d]", j)
		switch {
		case alias == "":
			fail(field, "empty")
		case seen[alias]:
			fail(field, "%q repeats the id or another alias", alias)
		case cveRe.MatchString(alias):
			fail(field, "%q is a CVE ID: use it as the id (trivy-db keys advisories by CVE) and list %q as an alias", alias, a.ID)
		case ghsaRe.MatchString(alias), otherIDRe.MatchString(alias):
		default:
			fail(field, "%q is not an advisory ID", alias)
		}
		seen[alias] = true
	}
	rec.vulnID = a.ID
	rec.vendorIDs = slices.Clone(a.Aliases)

	// Where.
	spec, ok := ecosystems[a.Ecosystem]
	switch {
	case a.Ecosystem == "":
		fail("ecosystem", "missing (one of: %s)", supportedEcosystem)
	case !ok:
		fail("ecosystem", "unknown ecosystem %q (one of: %s)", a.Ecosystem, supportedEcosystem)
	default:
		rec.eco = spec
	}
	switch {
	case a.Package == "":
		fail("package", "missing")
	case strings.ContainsAny(a.Package, " \t\r\n"):
		fail("package", "%q contains whitespace", a.Package)
	case ok:
		// Stored under the name Trivy looks packages up by.
		rec.pkgName = vulnerability.NormalizePkgName(spec.trivy, a.Package)
	}

	// Versions.
	if len(a.VulnerableVersions) == 0 {
		fail("vulnerable_versions", "missing: list at least one range, e.g. \"< 1.2.3\" or \">= 1.0.0, < 1.2.3\"")
	}
	for j, vr := range a.VulnerableVersions {
		field := fmt.Sprintf("vulnerable_versions[%d]", j)
		norm, err := normalizeRange(vr)
		if err != nil {
			fail(field, "%v", err)
			continue
		}
		if ok {
			if err := spec.checkConstraint(norm); err != nil {
				fail(field, "%q is not a %s version range Trivy can parse: %v", vr, a.Ecosystem, err)
				continue
			}
		}
		rec.vulnerable = append(rec.vulnerable, norm)
	}
	for j, pv := range a.PatchedVersions {
		field := fmt.Sprintf("patched_versions[%d]", j)
		norm, err := normalizeRange(pv)
		if err != nil {
			fail(field, "%v", err)
			continue
		}
		if ok {
			if err := spec.checkConstraint(norm); err != nil {
				fail(field, "%q is not a %s version Trivy can parse: %v", pv, a.Ecosystem, err)
				continue
			}
			// A bare patched version must lie outside every vulnerable range,
			// or the entry contradicts itself.
			if !strings.ContainsAny(norm, "<>=!~^,") && len(rec.vulnerable) == len(a.VulnerableVersions) {
				for _, vr := range rec.vulnerable {
					in, err := spec.contains(vr, norm)
					if err != nil {
						fail(field, "%q cannot be compared with %q: %v", pv, vr, err)
						break
					}
					if in {
						fail(field, "%q is inside vulnerable range %q", pv, vr)
						break
					}
				}
			}
		}
		rec.patched = append(rec.patched, norm)
	}

	// Severity, as GitHub rates the advisory. GHSA's own word MODERATE is
	// accepted for MEDIUM, as trivy-db's GHSA source converts it.
	sev := a.Severity
	if sev == "MODERATE" {
		sev = "MEDIUM"
	}
	switch s, err := types.NewSeverity(sev); {
	case a.Severity == "":
		fail("severity", "missing (one of LOW, MEDIUM, HIGH, CRITICAL)")
	case err != nil || s == types.SeverityUnknown:
		fail("severity", "%q is not one of LOW, MEDIUM (or MODERATE), HIGH, CRITICAL", a.Severity)
	default:
		rec.severity = s
	}

	if a.CVSSV3 != "" {
		score, err := cvssV3Score(a.CVSSV3)
		if err != nil {
			fail("cvss_v3", "%v", err)
		} else {
			rec.cvssVector, rec.cvssScore = a.CVSSV3, score
		}
	}

	// Text.
	if strings.TrimSpace(a.Title) == "" {
		fail("title", "missing")
	}
	if strings.TrimSpace(a.Description) == "" {
		fail("description", "missing")
	}
	rec.title, rec.description = strings.TrimSpace(a.Title), strings.TrimSpace(a.Description)

	for j, ref := range a.References {
		u, err := url.Parse(ref)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			fail(fmt.Sprintf("references[%d]", j), "%q is not an http(s) URL", ref)
		}
	}
	rec.references = slices.Clone(a.References)

	if a.Published != "" {
		t, err := parseDate(a.Published)
		if err != nil {
			fail("published", "%v", err)
		} else {
			rec.published = &t
		}
	}
	return rec, errs
}

// normalizeRange turns "< 0.3.7" or ">= 1.0.0 ,< 1.2.3" into trivy-db's form
// ("<0.3.7", ">=1.0.0, <1.2.3"); a bare version ("0.3.7") stays bare.
func normalizeRange(s string) (string, error) {
	if strings.TrimSpace(s) == "" {
		return "", errors.New("empty")
	}
	if strings.Contains(s, "||") {
		return "", fmt.Errorf("%q uses ||: list alternatives as separate entries instead", s)
	}
	var parts []string
	for p := range strings.SplitSeq(s, ",") {
		p = strings.TrimSpace(p)
		m := constraintR.FindStringSubmatch(p)
		if m == nil {
			return "", fmt.Errorf("%q is not a comma-separated list of comparisons like \">= 1.0.0, < 1.2.3\"", s)
		}
		parts = append(parts, m[1]+m[2])
	}
	return strings.Join(parts, ", "), nil
}

func cvssV3Score(vector string) (float64, error) {
	switch {
	case strings.HasPrefix(vector, "CVSS:3.0/"):
		c, err := gocvss30.ParseVector(vector)
		if err != nil {
			return 0, fmt.Errorf("%q is not a valid CVSS 3.0 vector: %v", vector, err)
		}
		return c.BaseScore(), nil
	case strings.HasPrefix(vector, "CVSS:3.1/"):
		c, err := gocvss31.ParseVector(vector)
		if err != nil {
			return 0, fmt.Errorf("%q is not a valid CVSS 3.1 vector: %v", vector, err)
		}
		return c.BaseScore(), nil
	default:
		return 0, fmt.Errorf("%q does not start with CVSS:3.0/ or CVSS:3.1/", vector)
	}
}

func parseDate(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(dateOnlyFmt, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q is neither RFC 3339 (2021-08-02T15:04:05Z) nor a date (2021-08-02)", s)
}

// crossCheck finds problems between entries: a repeated (ecosystem, package,
// id), and entries that share an id but disagree on what trivy-db stores once
// per id (the vulnerability detail).
func crossCheck(recs []record) []error {
	var errs []error
	type key struct{ eco, pkg, id string }
	firstByKey := map[key]int{}
	firstByID := map[string]record{}
	for _, r := range recs {
		k := key{r.eco.name, r.pkgName, r.vulnID}
		if j, dup := firstByKey[k]; dup {
			errs = append(errs, fieldError{index: r.index, id: r.vulnID, field: "package",
				msg: fmt.Sprintf("%s package %q already has this id in entry %d: merge their vulnerable_versions", r.eco.name, r.pkgName, j)})
			continue
		}
		firstByKey[k] = r.index

		f, ok := firstByID[r.vulnID]
		if !ok {
			firstByID[r.vulnID] = r
			continue
		}
		differ := func(field string, same bool) {
			if !same {
				errs = append(errs, fieldError{index: r.index, id: r.vulnID, field: field,
					msg: fmt.Sprintf("differs from entry %d with the same id (one vulnerability, one detail)", f.index)})
			}
		}
		differ("aliases", slices.Equal(f.vendorIDs, r.vendorIDs))
		differ("severity", f.severity == r.severity)
		differ("cvss_v3", f.cvssVector == r.cvssVector)
		differ("title", f.title == r.title)
		differ("description", f.description == r.description)
		differ("references", slices.Equal(f.references, r.references))
		differ("published", (f.published == nil) == (r.published == nil) &&
			(f.published == nil || f.published.Equal(*r.published)))
	}
	return errs
}
