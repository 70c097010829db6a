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
	"unicode/utf8"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/evaljob/evaljob/evalerr"
)

var stringType = arrow.BinaryTypes.String

// hiveNull is Hive's folder value for a null partition key.
const hiveNull = "__HIVE_DEFAULT_PARTITION__"

// discover expands patterns (Discover); skip, if not nil, drops files
// (DiscoverExcept).
func discover(patterns []string, baseDir string, skip func(string) bool) ([]Input, error) {
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
		found := len(paths)
		if skip != nil {
			paths = slices.DeleteFunc(paths, skip)
		}
		if len(paths) == 0 {
			why := "input pattern matches no files"
			if found > 0 {
				why = "input pattern matches only the outputs of an earlier run"
			}
			return nil, &evalerr.InputError{Path: pat, RowGroup: -1, Row: -1, Err: errors.New(why)}
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

// expand lists the files one pattern names. A path that exists is that
// path, even with wildcard characters in it; so is each leading folder of
// a pattern that exists as named (a config in a folder named "runs[1]"
// joins that folder to its inputs: "runs[1]/data/*.parquet" reads
// runs[1]/data, and a missing runs[1]/data/a.parquet is not runs1's).
func expand(full string) ([]string, error) {
	st, err := os.Stat(full)
	if err == nil || !hasMeta(full) {
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
	root, rest := literalRoot(full)
	for _, e := range rest {
		if _, err := path.Match(e, ""); err != nil {
			return nil, fmt.Errorf("pattern element %q: %w", e, err)
		}
	}
	if slices.Contains(rest, "**") {
		return globstar(root, rest)
	}
	if st, err := os.Stat(root); err != nil || !st.IsDir() {
		return nil, nil // no folder: matches nothing
	}
	// As filepath.Glob, but below root as named: links are followed.
	rel, err := fs.Glob(os.DirFS(root), strings.Join(rest, "/"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range rel {
		m := filepath.Join(root, filepath.FromSlash(r))
		if !hiddenOK(rest, r) {
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

// hiddenOK reports whether the pattern elements rest name each hidden
// element (".x", "_x") of the match r (as many elements) on purpose: an
// element that matches one must itself start with "." or "_" ("_*.parquet"
// reads _a.parquet; "*" does not match _staging, as a folder's walk skips
// it).
func hiddenOK(rest []string, r string) bool {
	for i, e := range strings.Split(r, "/") {
		if hidden(e) && (i >= len(rest) || !hidden(rest[i])) {
			return false
		}
	}
	return true
}

// literalRoot splits a pattern that does not exist as named into the
// longest run of leading folders taken as named, and the pattern elements
// below it: an element without wildcards, or one that names an existing
// folder, up to a "**" (which is always a pattern) and before the last.
func literalRoot(full string) (root string, rest []string) {
	elems := strings.Split(filepath.ToSlash(filepath.Clean(full)), "/")
	k := 0
	for ; k < len(elems)-1; k++ {
		e := elems[k]
		if e == "**" {
			break
		}
		if hasMeta(e) {
			st, err := os.Stat(filepath.FromSlash(strings.Join(elems[:k+1], "/")))
			if err != nil || !st.IsDir() {
				break
			}
		}
	}
	root = filepath.FromSlash(strings.Join(elems[:k], "/"))
	switch {
	case root == "" && filepath.IsAbs(full):
		root = string(filepath.Separator)
	case root == "":
		root = "."
	}
	return root, elems[k:]
}

// globstar expands a pattern with a "**" element, which matches any number
// of folders (none too), as in DuckDB and shells with globstar: the pattern
// elements rest are matched below the folder root (taken as named), which
// is walked as visit walks (links to folders not followed, hidden names
// skipped; not below a folder the pattern's start cannot match); each file
// whose path below root matches is taken, and every data file below a
// folder that matches.
func globstar(root string, rest []string) ([]string, error) {
	if st, err := os.Stat(root); err != nil || !st.IsDir() {
		return nil, nil // no folder: matches nothing
	}
	var out []string
	err := visit(root, func(p string, rel []string, dir bool) (bool, error) {
		switch {
		case !prefixOK(rest, rel):
			return false, nil
		case !matchElems(rest, rel):
			return dir, nil
		case dir:
			files, err := walk(p)
			out = append(out, files...)
			return false, err // all below it is taken
		}
		out = append(out, filepath.Clean(p))
		return false, nil
	})
	return out, err
}

// visit calls fn for everything below dir, in name order, with its path,
// its path elements below dir, and whether it is a folder; fn says whether
// to go into a folder. dir itself may be a symbolic link; below it, a link
// to a folder is not followed (as filepath.WalkDir: a "latest" link in a
// hive tree would read a partition twice, and links between folders would
// read files over and over), a link to a file is a file, and hidden names
// are skipped.
func visit(dir string, fn func(p string, rel []string, dir bool) (bool, error)) error {
	var into func(dir string, rel []string) error
	into = func(dir string, rel []string) error {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if hidden(e.Name()) {
				continue
			}
			p := filepath.Join(dir, e.Name())
			isDir := e.IsDir()
			if e.Type()&fs.ModeSymlink != 0 {
				if fi, err := os.Stat(p); err == nil && fi.IsDir() {
					continue // a link to a folder: not followed
				}
			}
			r := append(slices.Clip(rel), e.Name())
			descend, err := fn(p, r, isDir)
			if err != nil {
				return err
			}
			if descend && isDir {
				if err := into(p, r); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return into(dir, nil)
}

// prefixOK reports whether a path may start with the elements name and
// still match the pattern elements pat (matchElems).
func prefixOK(pat, name []string) bool {
	for ; len(name) > 0; pat, name = pat[1:], name[1:] {
		if len(pat) == 0 {
			return false
		}
		if pat[0] == "**" {
			return true
		}
		if ok, _ := path.Match(pat[0], name[0]); !ok {
			return false
		}
	}
	return true
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

// walk lists the data files under dir (see visit).
func walk(dir string) ([]string, error) {
	var out []string
	err := visit(dir, func(p string, _ []string, dir bool) (bool, error) {
		if _, ok := formatOfExt(p); ok && !dir {
			out = append(out, filepath.Clean(p))
		}
		return dir, nil
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
		if u, err := url.PathUnescape(k); err == nil && utf8.ValidString(u) {
			k = u
		}
		if v == hiveNull {
			kvs = append(kvs, KV{Key: k, Null: true})
			continue
		}
		// A %-escape that decodes to bytes that are not UTF-8 ("%C3"
		// alone) stays as written: a string column holds UTF-8 (DuckDB
		// refused to open a summary with the byte 0xC3 in it).
		if u, err := url.PathUnescape(v); err == nil && utf8.ValidString(u) {
			v = u
		}
		kvs = append(kvs, KV{Key: k, Value: v})
	}
	return kvs
}
