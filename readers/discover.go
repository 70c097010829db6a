package readers

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/evaljob/evaljob/evalerr"
)

var stringType = arrow.BinaryTypes.String

// hiveNull is Hive's folder value for a null partition key.
const hiveNull = "__HIVE_DEFAULT_PARTITION__"

func discover(patterns []string, baseDir string) ([]Input, error) {
	var out []Input
	seen := map[string]bool{}
	for _, pat := range patterns {
		full := pat
		if !filepath.IsAbs(full) {
			full = filepath.Join(baseDir, full)
		}
		paths, err := expand(full)
		if err != nil {
			return nil, &evalerr.InputError{Path: pat, RowGroup: -1, Row: -1, Err: err}
		}
		if len(paths) == 0 {
			return nil, &evalerr.InputError{Path: pat, RowGroup: -1, Row: -1, Err: errors.New("input pattern matches no files")}
		}
		sort.Strings(paths)
		for _, p := range paths {
			if seen[p] {
				continue
			}
			seen[p] = true
			out = append(out, Input{Path: p, Partition: partition(p)})
		}
	}
	return out, nil
}

func hasMeta(p string) bool { return strings.ContainsAny(p, "*?[") }

// expand lists the files one pattern names.
func expand(full string) ([]string, error) {
	if !hasMeta(full) {
		st, err := os.Stat(full)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if st.IsDir() {
			return walk(full)
		}
		return []string{filepath.Clean(full)}, nil
	}
	if slices.Contains(strings.Split(filepath.ToSlash(full), "/"), "**") {
		return globstar(full)
	}
	matches, err := filepath.Glob(full)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range matches {
		if hidden(filepath.Base(m)) {
			continue
		}
		st, err := os.Stat(m)
		if err != nil {
			return nil, err
		}
		if st.IsDir() {
			files, err := walk(m)
			if err != nil {
				return nil, err
			}
			out = append(out, files...)
			continue
		}
		out = append(out, filepath.Clean(m))
	}
	return out, nil
}

// globstar expands a pattern with a "**" element, which matches any number
// of folders (none too), as in DuckDB and shells with globstar: the folder
// before the first element with a wildcard is walked, skipping hidden
// names, and each file whose path below it matches is taken, as is every
// data file below a folder that matches.
func globstar(full string) ([]string, error) {
	elems := strings.Split(filepath.ToSlash(full), "/")
	for _, e := range elems {
		if _, err := path.Match(e, ""); err != nil {
			return nil, fmt.Errorf("pattern element %q: %w", e, err)
		}
	}
	k := slices.IndexFunc(elems, hasMeta)
	root, rest := filepath.FromSlash(strings.Join(elems[:k], "/")), elems[k:]
	if root == "" {
		root = "."
		if filepath.IsAbs(full) {
			root = string(filepath.Separator)
		}
	}
	if st, err := os.Stat(root); err != nil || !st.IsDir() {
		return nil, nil // no folder: matches nothing
	}
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		if hidden(d.Name()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || !matchElems(rest, strings.Split(filepath.ToSlash(rel), "/")) {
			return err
		}
		if !d.IsDir() {
			out = append(out, filepath.Clean(p))
			return nil
		}
		files, err := walk(p)
		out = append(out, files...)
		return err
	})
	return out, err
}

// matchElems matches path elements against pattern elements, "**"
// matching any number of them.
func matchElems(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for i := range len(name) + 1 {
				if matchElems(pat[1:], name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], name[0]); !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}

func hidden(name string) bool { return strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") }

// walk lists the data files under dir, skipping hidden names.
func walk(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		if hidden(d.Name()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		if _, ok := formatOfExt(p); ok {
			out = append(out, filepath.Clean(p))
		}
		return nil
	})
	return out, err
}

// partition reads key=value folder names of a file path, outermost first.
func partition(path string) []KV {
	var kvs []KV
	dir := filepath.Dir(path)
	for _, part := range strings.Split(filepath.ToSlash(dir), "/") {
		k, v, ok := strings.Cut(part, "=")
		if !ok || k == "" {
			continue
		}
		if u, err := url.PathUnescape(k); err == nil {
			k = u
		}
		if v == hiveNull {
			kvs = append(kvs, KV{Key: k, Null: true})
			continue
		}
		if u, err := url.PathUnescape(v); err == nil {
			v = u
		}
		kvs = append(kvs, KV{Key: k, Value: v})
	}
	return kvs
}
