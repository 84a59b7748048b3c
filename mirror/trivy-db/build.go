package main

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/aquasecurity/trivy-db/pkg/db"
	"github.com/aquasecurity/trivy-db/pkg/metadata"
	"github.com/aquasecurity/trivy-db/pkg/types"
	"github.com/aquasecurity/trivy-db/pkg/vulnsrc/vulnerability"
)

// nextUpdateAfter is how far ahead metadata.json puts NextUpdate, so Trivy
// never takes seamline's DB for a stale one and tries to fetch another.
const nextUpdateAfter = 10 * 365 * 24 * time.Hour

// Build writes outDir/trivy.db and outDir/metadata.json from validated
// records. It follows the steps of trivy-db's own build (pkg/vulndb):
//
//  1. insert, as pkg/vulnsrc/osv does for GitHub advisories: the data source
//     of each ecosystem bucket, the advisory under advisory-detail, the
//     vulnerability detail per source, and the vulnerability ID;
//  2. optimize: copy advisory details into their ecosystem buckets and
//     normalise details into the `vulnerability` bucket Trivy reads;
//  3. clean up the intermediate buckets.
//
// The DB is built in a temporary directory, copied into a canonical layout
// (see canonicalCopy) and moved into place only when complete, so the same
// advisories always give the same trivy.db; only metadata.json carries times.
func Build(recs []record, outDir string, now time.Time) (err error) {
	now = now.UTC()
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", outDir, err)
	}
	tmp, err := os.MkdirTemp(outDir, ".trivydb-build-")
	if err != nil {
		return fmt.Errorf("creating a work directory in %s: %w", outDir, err)
	}
	defer os.RemoveAll(tmp)

	if err := writeDB(recs, tmp); err != nil {
		return err
	}
	canonical := filepath.Join(tmp, "canonical.db")
	if err := canonicalCopy(db.Path(tmp), canonical); err != nil {
		return fmt.Errorf("laying out the DB: %w", err)
	}
	if err := os.Rename(canonical, db.Path(outDir)); err != nil {
		return fmt.Errorf("moving the DB into %s: %w", outDir, err)
	}

	md := metadata.Metadata{
		Version:      db.SchemaVersion,
		NextUpdate:   now.Add(nextUpdateAfter),
		UpdatedAt:    now,
		DownloadedAt: now,
	}
	if err := metadata.NewClient(outDir).Update(md); err != nil {
		return fmt.Errorf("writing %s: %w", metadata.Path(outDir), err)
	}
	return nil
}

func writeDB(recs []record, dir string) (err error) {
	if err := db.Init(dir); err != nil {
		return fmt.Errorf("opening a new trivy DB in %s: %w", dir, err)
	}
	defer func() {
		if cerr := db.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("closing the trivy DB: %w", cerr)
		}
	}()
	dbc := db.Config{}

	// A fixed insertion order gives the same file for the same input.
	recs = slices.Clone(recs)
	slices.SortFunc(recs, func(a, b record) int {
		return cmpStrings(a.eco.name, b.eco.name, a.pkgName, b.pkgName, a.vulnID, b.vulnID)
	})

	err = dbc.BatchUpdate(func(tx *bolt.Tx) error {
		for _, r := range recs {
			if err := insert(dbc, tx, r); err != nil {
				return fmt.Errorf("entry %d (%s, %s %s): %w", r.index, r.vulnID, r.eco.name, r.pkgName, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("inserting advisories: %w", err)
	}

	if err := optimize(dbc, recs); err != nil {
		return err
	}
	return cleanup(dbc)
}

func insert(dbc db.Config, tx *bolt.Tx, r record) error {
	bktName, ds, err := r.eco.bucketName()
	if err != nil {
		return err
	}
	if err := dbc.PutDataSource(tx, bktName, ds); err != nil {
		return err
	}
	adv := types.Advisory{
		VendorIDs:          r.vendorIDs,
		VulnerableVersions: r.vulnerable,
		PatchedVersions:    r.patched,
	}
	if err := dbc.PutAdvisoryDetail(tx, r.vulnID, r.pkgName, []string{bktName}, adv); err != nil {
		return err
	}
	detail := types.VulnerabilityDetail{
		Severity:      r.severity,
		References:    r.references,
		Title:         r.title,
		Description:   r.description,
		CvssScoreV3:   r.cvssScore,
		CvssVectorV3:  r.cvssVector,
		PublishedDate: r.published,
	}
	if err := dbc.PutVulnerabilityDetail(tx, r.vulnID, sourceID, detail); err != nil {
		return err
	}
	return dbc.PutVulnerabilityID(tx, r.vulnID)
}

// optimize mirrors trivy-db's vulndb optimize step, using its normaliser.
func optimize(dbc db.Config, recs []record) error {
	published := map[string]*time.Time{}
	for _, r := range recs {
		if r.published != nil {
			published[r.vulnID] = r.published
		}
	}
	vulnClient := vulnerability.New(dbc)
	err := dbc.ForEachVulnerabilityID(func(tx *bolt.Tx, vulnID string) error {
		details := vulnClient.GetDetails(vulnID)
		if vulnClient.IsRejected(details) {
			return nil
		}
		if err := dbc.SaveAdvisoryDetails(tx, vulnID); err != nil {
			return fmt.Errorf("saving advisories of %s: %w", vulnID, err)
		}
		if len(details) == 0 {
			return nil
		}
		vuln := vulnClient.Normalize(vulnID, details)
		// trivy-db takes a CVE's published date from NVD only; seamline has
		// no NVD data, so the advisory's own date stands in.
		if vuln.PublishedDate == nil {
			vuln.PublishedDate = published[vulnID]
		}
		return dbc.PutVulnerability(tx, vulnID, vuln)
	})
	if err != nil {
		return fmt.Errorf("normalising vulnerabilities: %w", err)
	}
	return nil
}

func cleanup(dbc db.Config) error {
	if err := dbc.DeleteVulnerabilityIDBucket(); err != nil {
		return err
	}
	if err := dbc.DeleteVulnerabilityDetailBucket(); err != nil {
		return err
	}
	return dbc.DeleteAdvisoryDetailBucket()
}

// canonicalCopy copies every bucket and key of src into a new bolt file dst
// so that the same content always gives the same bytes. bbolt writes the
// buckets a transaction touched in map order, so a DB filled in one
// transaction (as trivy-db's build does) is laid out differently on every
// run. Here each innermost bucket is written by its own transaction, in key
// order, which leaves bbolt a single path to write each time.
func canonicalCopy(src, dst string) error {
	in, err := bolt.Open(src, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := bolt.Open(dst, 0o644, nil)
	if err != nil {
		return err
	}

	type kv struct{ k, v []byte }
	type group struct {
		path [][]byte
		kvs  []kv
	}
	var groups []group
	var walk func(path [][]byte, b *bolt.Bucket) error
	walk = func(path [][]byte, b *bolt.Bucket) error {
		g := group{path: path}
		var children [][]byte
		err := b.ForEach(func(k, v []byte) error {
			if v == nil {
				children = append(children, slices.Clone(k))
			} else {
				g.kvs = append(g.kvs, kv{slices.Clone(k), slices.Clone(v)})
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(g.kvs) > 0 || len(children) == 0 {
			groups = append(groups, g)
		}
		for _, c := range children {
			if err := walk(append(slices.Clip(path), c), b.Bucket(c)); err != nil {
				return err
			}
		}
		return nil
	}
	err = in.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			return walk([][]byte{slices.Clone(name)}, b)
		})
	})
	if err != nil {
		out.Close()
		return err
	}

	for _, g := range groups {
		err := out.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists(g.path[0])
			if err != nil {
				return err
			}
			for _, name := range g.path[1:] {
				if b, err = b.CreateBucketIfNotExists(name); err != nil {
					return err
				}
			}
			for _, e := range g.kvs {
				if err := b.Put(e.k, e.v); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			out.Close()
			return err
		}
	}
	return out.Close()
}

// WriteArchive packs trivy.db and metadata.json from dbDir into a gzipped tar,
// the layer format Trivy downloads its DB as (media type
// application/vnd.aquasec.trivy.db.layer.v1.tar+gzip), so the result can be
// pushed to a registry as-is. Entries carry modTime, nothing host-specific.
func WriteArchive(dbDir, path string, modTime time.Time) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	gz := gzip.NewWriter(f) // no name or mtime in the gzip header
	tw := tar.NewWriter(gz)
	for _, name := range []string{"trivy.db", "metadata.json"} {
		if err := addFile(tw, filepath.Join(dbDir, name), name, modTime); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

func addFile(tw *tar.Writer, src, name string, modTime time.Time) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	hdr := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     name,
		Size:     st.Size(),
		Mode:     0o644,
		ModTime:  modTime.UTC().Truncate(time.Second),
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	n, err := io.Copy(tw, in)
	if err != nil {
		return err
	}
	if n != st.Size() {
		return errors.New(src + " changed while being archived")
	}
	return nil
}

func cmpStrings(pairs ...string) int {
	for i := 0; i+1 < len(pairs); i += 2 {
		if c := strings.Compare(pairs[i], pairs[i+1]); c != 0 {
			return c
		}
	}
	return 0
}
