package conformance

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
)

// The JUnit XML report, in the shape CI servers read (Jenkins' junit-10
// schema, Ant's and Surefire's): one testsuites holding one testsuite,
// whose properties say what was checked, and one testcase per case, with
// a failure or a skipped element when it did not pass.
type (
	// JUnitSuites is the report's root element.
	JUnitSuites struct {
		XMLName  xml.Name     `xml:"testsuites"`
		Name     string       `xml:"name,attr"`
		Tests    int          `xml:"tests,attr"`
		Failures int          `xml:"failures,attr"`
		Errors   int          `xml:"errors,attr"`
		Time     string       `xml:"time,attr"`
		Suites   []JUnitSuite `xml:"testsuite"`
	}
	// JUnitSuite is the run against one participant.
	JUnitSuite struct {
		Name       string          `xml:"name,attr"`
		Tests      int             `xml:"tests,attr"`
		Failures   int             `xml:"failures,attr"`
		Errors     int             `xml:"errors,attr"`
		Skipped    int             `xml:"skipped,attr"`
		Time       string          `xml:"time,attr"`
		Timestamp  string          `xml:"timestamp,attr"`
		Properties []JUnitProperty `xml:"properties>property"`
		Cases      []JUnitCase     `xml:"testcase"`
	}
	// JUnitProperty is a name and value that describe the run.
	JUnitProperty struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	// JUnitCase is one case; Classname is its group ("signature").
	JUnitCase struct {
		Name      string        `xml:"name,attr"`
		Classname string        `xml:"classname,attr"`
		Time      string        `xml:"time,attr"`
		Failure   *JUnitMessage `xml:"failure"`
		Skipped   *JUnitMessage `xml:"skipped"`
	}
	// JUnitMessage is a failure's or a skip's reason (Message) and, in
	// the element's text, the rule the case checks.
	JUnitMessage struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr,omitempty"`
		Text    string `xml:",chardata"`
	}
)

// suiteName names the suite and prefixes the cases' class names.
const suiteName = "hulian.conformance"

// JUnit returns the report as JUnit XML elements.
func (r *Report) JUnit() JUnitSuites {
	s := JUnitSuite{Name: suiteName + "." + r.Participant, Tests: len(r.Results), Failures: r.Count(Fail), Skipped: r.Count(Skip),
		Time: seconds(r.Took), Timestamp: r.Started.UTC().Format(time.RFC3339),
		Properties: []JUnitProperty{{"switch", r.Switch}, {"participant", r.Participant}, {"callbackUrl", r.CallbackURL},
			{"acceptance", r.Acceptance}, {"run", r.Run}, {"transferIds", "conformance-" + r.Run + "-*"}}}
	for _, res := range r.Results {
		group, _, _ := strings.Cut(res.Case, ".")
		c := JUnitCase{Name: res.Case, Classname: suiteName + "." + group, Time: seconds(res.Took)}
		switch res.Status {
		case Fail:
			c.Failure = &JUnitMessage{Message: res.Reason, Type: "rule", Text: res.Rule}
		case Skip:
			c.Skipped = &JUnitMessage{Message: res.Reason, Text: res.Rule}
		}
		s.Cases = append(s.Cases, c)
	}
	return JUnitSuites{Name: "hulian conformance", Tests: s.Tests, Failures: s.Failures, Time: s.Time, Suites: []JUnitSuite{s}}
}

// seconds writes a duration as JUnit does: seconds, three decimals.
func seconds(d time.Duration) string {
	return fmt.Sprintf("%d.%03d", d/time.Second, d%time.Second/time.Millisecond)
}

// WriteJUnit writes the report as a JUnit XML document.
func (r *Report) WriteJUnit(w io.Writer) error {
	b, err := xml.MarshalIndent(r.JUnit(), "", "  ")
	if err != nil {
		return fmt.Errorf("junit report: %w", err)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
