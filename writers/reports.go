package writers

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/evaljob/evaljob/evalerr"
	"github.com/evaljob/evaljob/gates"
)

// WriteGatesJSON writes gates.json: the results as a JSON list ([] when
// there are none), indented by two spaces, with a trailing newline. Each
// entry has gate, metric, group_set, group, value, baseline, limit, passed
// and reason (SPEC §6), and nothing else; non-finite numbers are null (see
// gates.Result.MarshalJSON).
func WriteGatesJSON(s *Staged, results []gates.Result) error {
	if results == nil {
		results = []gates.Result{}
	}
	return WriteJSON(s, results)
}

// Report renders report.md, the Markdown a reviewer reads in a pull
// request: a verdict line, then one table row per result. describe[i] words
// config gate i (gates.Describe); a missing entry shows as "gates[i]".
func Report(results []gates.Result, describe []string) string {
	var b strings.Builder
	if len(results) == 0 {
		b.WriteString("**evaljob gates:** no gates were configured.\n")
		return b.String()
	}
	failed := gates.Failed(results)
	if failed == 0 {
		fmt.Fprintf(&b, "**evaljob gates: PASSED** — %d of %d checks passed\n", len(results), len(results))
	} else {
		fmt.Fprintf(&b, "**evaljob gates: FAILED** — %d of %d checks failed\n", failed, len(results))
	}
	b.WriteString("\n| Gate | Metric | Group | Value | Baseline | Change | Limit | Result | Reason |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		gate := fmt.Sprintf("gates[%d]", r.Gate)
		if r.Gate >= 0 && r.Gate < len(describe) && describe[r.Gate] != "" {
			gate += ": " + describe[r.Gate]
		}
		result := "✅ pass"
		if !r.Passed {
			result = "❌ fail"
		}
		cells := []string{gate, r.Metric, r.GroupText(), cellNum(r.Value), cellNum(r.Baseline), cellChange(r), cellNum(r.Limit), result, r.Reason}
		b.WriteString("|")
		for _, c := range cells {
			b.WriteString(" ")
			b.WriteString(cellText(c))
			b.WriteString(" |")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// cellText makes s safe inside a Markdown table cell: one line, | escaped,
// and a < that could open an HTML tag (a key value such as "<b>") written
// as &lt;, so that "<=" in reasons stays readable in the raw file.
func cellText(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	s = strings.ReplaceAll(s, "|", `\|`)
	if !strings.Contains(s, "<") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '<' && i+1 < len(s) && isTagStart(s[i+1]) {
			b.WriteString("&lt;")
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func isTagStart(c byte) bool {
	return c == '/' || c == '!' || c == '?' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

func cellNum(p *float64) string {
	if p == nil {
		return "—"
	}
	return fmtG6(*p)
}

func fmtG6(v float64) string {
	if math.IsInf(v, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

// cellChange is the change from the baseline: "+1.82%" for relative gates
// (when the baseline is not 0), "+0.0123" otherwise.
func cellChange(r gates.Result) string {
	if r.Change == nil {
		return "—"
	}
	d := *r.Change
	if r.Relative && r.Baseline != nil && *r.Baseline != 0 {
		pct := 100 * d / math.Abs(*r.Baseline)
		if r.Value != nil && math.IsInf(*r.Baseline, 0) {
			pct = 100 * gates.RelativeChange(*r.Value, *r.Baseline) // +Inf to 0.5: -100%
		}
		return signed(strconv.FormatFloat(pct, 'g', 3, 64)) + "%"
	}
	return signed(fmtG6(d))
}

func signed(s string) string {
	if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") || s == "NaN" {
		return s
	}
	return "+" + s
}

// WriteReport writes report.md.
func WriteReport(s *Staged, text string) error {
	_, err := s.Write([]byte(text))
	return err
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	ClassName string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// junitSuiteName and junitClassName name the suite and test cases in
// junit.xml.
const (
	junitSuiteName = "evaljob gates"
	junitClassName = "evaljob.gates"
)

// WriteJUnit writes junit.xml: one <testsuite name="evaljob gates"> with one
// <testcase classname="evaljob.gates" name="gates[i] <metric> <group>"> per
// result; a failure carries <failure message="reason" type="gate">, a pass
// its reason in <system-out>. Times are 0, so the file depends only on the
// results.
func WriteJUnit(s *Staged, results []gates.Result) error {
	suite := junitSuite{Name: junitSuiteName, Tests: len(results), Failures: gates.Failed(results), Time: "0"}
	for _, r := range results {
		c := junitCase{
			ClassName: junitClassName,
			Name:      fmt.Sprintf("gates[%d] %s %s", r.Gate, r.Metric, r.GroupText()),
			Time:      "0",
		}
		if r.Passed {
			c.SystemOut = r.Reason
		} else {
			c.Failure = &junitFailure{Message: r.Reason, Type: "gate", Text: r.Reason}
		}
		suite.Cases = append(suite.Cases, c)
	}
	doc := junitSuites{Name: junitSuiteName, Tests: suite.Tests, Failures: suite.Failures, Suites: []junitSuite{suite}}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return evalerr.Outputf("encoding %s: %w", s.Path(), err)
	}
	buf.WriteString("\n")
	_, err := s.Write(buf.Bytes())
	return err
}
