package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/evaljob/evaljob/evalerr"
)

// Load reads the YAML config at path, expands ${VAR} in its values, applies
// the --set overrides (key.path=value, the value parsed as YAML), fills in
// defaults, makes paths absolute (those of the file relative to its folder,
// those of --set relative to the working directory) and checks the result.
func Load(path string, sets []string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, evalerr.Configf("reading config: %w", err)
	}
	root, err := parseDocument(data)
	if err != nil {
		return nil, evalerr.Configf("%s: %w", path, err)
	}
	if err := expandEnv(root); err != nil {
		return nil, evalerr.Configf("%s: %w", path, err)
	}
	overridden := map[string]bool{}
	for i, s := range sets {
		key, err := applySet(root, s, -1-i)
		if err != nil {
			return nil, evalerr.Configf("--set %s: %w", s, err)
		}
		overridden[key] = true
	}
	if err := checkKeys(root, reflect.TypeFor[Config](), ""); err != nil {
		return nil, evalerr.Configf("%s: %s", path, setLines(err, sets))
	}
	cfg := Default()
	if err := decodeKeys(root, cfg); err != nil {
		return nil, evalerr.Configf("%s: %s", path, setLines(err, sets))
	}
	cwd, err := os.Getwd()
	if err != nil {
		return nil, evalerr.Configf("working directory: %w", err)
	}
	absPath, err := filepath.Abs(path)
	if err != nil {
		return nil, evalerr.Configf("config path: %w", err)
	}
	fileDir := filepath.Dir(absPath)
	// A path set by --set (itself, or a mapping or list above it) is
	// relative to the working directory; one from the file to its folder.
	base := func(key string) string {
		for set := range overridden {
			if key == set || strings.HasPrefix(key, set+".") {
				return cwd
			}
		}
		return fileDir
	}
	cfg.resolvePaths(base)
	if cfg.Columns.Keep == nil {
		cfg.Columns.Keep = []string{}
	}
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// resolvePaths makes every path of the config absolute; base gives the folder
// a key's relative paths are relative to (keys like "inputs.0",
// "output.dir", "gates.1.baseline").
func (c *Config) resolvePaths(base func(key string) string) {
	abs := func(key, p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(base(key), p)
	}
	for i, p := range c.Inputs {
		c.Inputs[i] = abs(fmt.Sprintf("inputs.%d", i), p)
	}
	if c.Labels != nil {
		for i, p := range c.Labels.Inputs {
			c.Labels.Inputs[i] = abs(fmt.Sprintf("labels.inputs.%d", i), p)
		}
	}
	c.Output.Dir = abs("output.dir", c.Output.Dir)
	for i := range c.Gates {
		c.Gates[i].Baseline = abs(fmt.Sprintf("gates.%d.baseline", i), c.Gates[i].Baseline)
		c.Gates[i].BaselineRows = abs(fmt.Sprintf("gates.%d.baseline_rows", i), c.Gates[i].BaselineRows)
	}
}

func parseDocument(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}, nil
		}
		return nil, errors.New(yamlMessage(err))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one YAML document")
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: the config must be a mapping of keys", root.Line)
	}
	return root, nil
}

func yamlMessage(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return strings.Join(te.Errors, "; ")
	}
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if m := parserLine.FindStringSubmatch(msg); m != nil {
		// yaml.v3 counts a parser error's line from 0 (its scanner
		// errors from 1), and leaves out line 0.
		n := 0
		if m[1] != "" {
			n, _ = strconv.Atoi(m[1])
		}
		msg = fmt.Sprintf("line %d: %s", n+1, msg[len(m[0])-len(m[2]):])
	}
	return msg
}

// parserLine matches the messages of yaml.v3's parser, as opposed to its
// scanner: the problems its parserc.go sets, with the line if any.
// (Its scanner's messages start alike, "did not find expected whitespace":
// the parser's are matched whole.)
var parserLine = regexp.MustCompile(`^(?:line (\d+): )?((?:did not find expected (?:<stream-start>|<document start>|node content|'-' indicator|key|',' or '\]'|',' or '\}')|found undefined tag handle|found duplicate %YAML directive|found duplicate %TAG directive|found incompatible YAML document))$`)

var envRef = regexp.MustCompile(`\$\{([^}]*)\}`)
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// expandEnv replaces ${VAR} in every scalar value (not in keys). An unset
// variable is an error naming it; an empty one expands to nothing.
func expandEnv(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "${") {
			return nil
		}
		var missing error
		n.Value = envRef.ReplaceAllStringFunc(n.Value, func(ref string) string {
			name := ref[2 : len(ref)-1]
			if !envName.MatchString(name) {
				missing = fmt.Errorf("line %d: %q is not a valid environment variable reference", n.Line, ref)
				return ref
			}
			v, ok := os.LookupEnv(name)
			if !ok && missing == nil {
				missing = fmt.Errorf("line %d: environment variable %s is not set", n.Line, name)
			}
			return v
		})
		if missing != nil {
			return missing
		}
		// A value written as ${X} was a plain string scalar; keep its tag
		// resolution to the expanded text (so "${N}" with N=3 is the int 3).
		if n.Style == 0 {
			n.Tag = ""
		}
		return nil
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			if err := expandEnv(n.Content[i]); err != nil {
				return err
			}
		}
	case yaml.SequenceNode, yaml.DocumentNode:
		for _, c := range n.Content {
			if err := expandEnv(c); err != nil {
				return err
			}
		}
	}
	return nil
}

// setLine matches the place of a node that came from --set in a message
// ("line -1:" for the first --set, "line -2:" for the second: applySet's
// line), and nothing else ("deadline -1: 3" is a key).
var setLine = regexp.MustCompile(`\bline -(\d+):`)

// setLines names the --set an error's node came from, where it says
// "line -k": "--set options.threshold=abc", not a line of the file.
func setLines(err error, sets []string) string {
	return setLine.ReplaceAllStringFunc(err.Error(), func(m string) string {
		k, _ := strconv.Atoi(m[len("line -") : len(m)-1])
		if k < 1 || k > len(sets) {
			return m
		}
		return "--set " + sets[k-1] + ":"
	})
}

// applySet applies one "key.path=value" override to the tree and returns
// the key path in the form resolvePaths uses ("output.dir", "gates.0.max").
// The nodes it adds get line, a negative number that setLines turns into
// the override's text in messages.
func applySet(root *yaml.Node, s string, line int) (string, error) {
	key, value, ok := strings.Cut(s, "=")
	if !ok || key == "" {
		return "", errors.New("expected key.path=value")
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(value), &doc); err != nil {
		return "", fmt.Errorf("value: %s", yamlMessage(err))
	}
	val := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: ""}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		val = doc.Content[0]
	}
	setNodeLines(val, line)
	parts := strings.Split(key, ".")
	n := root
	for i, part := range parts {
		last := i == len(parts)-1
		switch n.Kind {
		case yaml.MappingNode:
			j := mappingIndex(n, part)
			if j < 0 {
				n = addKey(n, part, last, val, line)
				continue
			}
			if last {
				n.Content[j+1] = val
			}
			n = n.Content[j+1]
		case yaml.SequenceNode:
			idx, err := strconv.Atoi(part)
			if err != nil || idx < 0 || idx >= len(n.Content) {
				return "", fmt.Errorf("%q: no element %s in a list of %d", strings.Join(parts[:i], "."), part, len(n.Content))
			}
			if last {
				n.Content[idx] = val
			}
			n = n.Content[idx]
		default:
			if n.Tag == "!!null" {
				n.Kind, n.Tag, n.Value = yaml.MappingNode, "!!map", ""
				n = addKey(n, part, last, val, line)
				continue
			}
			return "", fmt.Errorf("%q is a value, not a mapping", strings.Join(parts[:i], "."))
		}
	}
	return key, nil
}

// addKey adds key to mapping n with val (last) or an empty mapping as its
// value, and returns the value node.
func addKey(n *yaml.Node, key string, last bool, val *yaml.Node, line int) *yaml.Node {
	child := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: line}
	if last {
		child = val
	}
	n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key, Line: line}, child)
	return child
}

// setNodeLines sets the line of n and the nodes under it.
func setNodeLines(n *yaml.Node, line int) {
	n.Line = line
	for _, c := range n.Content {
		setNodeLines(c, line)
	}
}

func mappingIndex(n *yaml.Node, key string) int {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return i
		}
	}
	return -1
}

// checkKeys reports the first key that the struct type t does not know,
// naming its full path.
func checkKeys(n *yaml.Node, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Struct:
		fields := map[string]reflect.Type{}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name != "" && name != "-" {
				fields[name] = f.Type
			}
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			full := k
			if path != "" {
				full = path + "." + k
			}
			if seen[k] {
				return fmt.Errorf("line %d: key %q appears twice", n.Content[i].Line, full)
			}
			seen[k] = true
			ft, ok := fields[k]
			if !ok {
				return fmt.Errorf("line %d: unknown key %q", n.Content[i].Line, full)
			}
			if err := checkKeys(n.Content[i+1], ft, full); err != nil {
				return err
			}
		}
	case n.Kind == yaml.SequenceNode && t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
		for i, c := range n.Content {
			if err := checkKeys(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// decodeKeys decodes root into cfg key by key, at every depth, so that an
// error names the key it is under (options.threshold, gates[0].max), not
// only its section.
func decodeKeys(root *yaml.Node, cfg *Config) error {
	return decodeInto(root, reflect.ValueOf(cfg).Elem(), "")
}

// decodeInto decodes n into v, which is under key path: a struct (or a
// pointer to one) from a mapping key by key, a list of structs element by
// element, anything else (and a type with its own UnmarshalYAML) as a
// whole by yaml.v3. Keys are known to be fields (checkKeys).
func decodeInto(n *yaml.Node, v reflect.Value, path string) error {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	t := v.Type()
	if _, own := v.Addr().Interface().(yaml.Unmarshaler); !own {
		switch {
		case t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
			if v.IsNil() {
				v.Set(reflect.New(t.Elem()))
			}
			return decodeInto(n, v.Elem(), path)
		case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				key := n.Content[i].Value
				for j := range t.NumField() {
					if name, _, _ := strings.Cut(t.Field(j).Tag.Get("yaml"), ","); name == key {
						if err := decodeInto(n.Content[i+1], v.Field(j), joinKey(path, key)); err != nil {
							return err
						}
					}
				}
			}
			return nil
		case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct && n.Kind == yaml.SequenceNode:
			// A null element is no element, as yaml.v3 decodes a list.
			list := reflect.MakeSlice(t, 0, len(n.Content))
			for i, c := range n.Content {
				if c.ShortTag() == "!!null" {
					continue
				}
				list = reflect.Append(list, reflect.New(t.Elem()).Elem())
				if err := decodeInto(c, list.Index(list.Len()-1), fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
			v.Set(list)
			return nil
		}
	}
	if err := wholeNumber(n, t); err != nil {
		return fmt.Errorf("config key %s: line %d: %w", path, n.Line, err)
	}
	if t.Kind() == reflect.Map && t.Elem().Kind() == reflect.String && n.Kind == yaml.MappingNode {
		// yaml.v3 decodes a null value as "", which would select the
		// empty string (gates[0].where).
		for i := 0; i+1 < len(n.Content); i += 2 {
			if c := n.Content[i+1]; c.ShortTag() == "!!null" {
				return fmt.Errorf("config key %s.%s: line %d: null is not a value here (a gate cannot select a null key; \"\" is the empty string)",
					path, n.Content[i].Value, c.Line)
			}
		}
	}
	if err := n.Decode(v.Addr().Interface()); err != nil {
		return fmt.Errorf("config key %s: %s", path, yamlMessage(err))
	}
	return nil
}

// joinKey is key under path.
func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// wholeNumber refuses a YAML number with a fraction for an integer of type
// t (or a pointer to one): yaml.v3 would truncate 1.5 to 1 without a word.
// A whole float (2.0, 1e3) is its integer.
func wholeNumber(n *yaml.Node, t reflect.Type) error {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
	default:
		return nil
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!float" {
		return nil
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
	if err != nil || f != math.Trunc(f) {
		return fmt.Errorf("%s is not a whole number", n.Value)
	}
	return nil
}
