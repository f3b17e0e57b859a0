package conformance

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Outcome is one implementation's build of one case.
type Outcome struct {
	Snapshot *Snapshot
	Err      error
}

// Verdict is the judgement of one implementation on one case.
type Verdict struct {
	Case, Builder string
	// Pass is true when the implementation behaved as Docker does, or
	// differs only in a documented way (then Known is set).
	Pass bool
	// Known is the documented difference that applied, "" if none.
	Known string
	// Problems say what was wrong.
	Problems []string
}

// Judge compares the outcomes of every implementation on case c. A build
// must fail exactly when the case says so, must meet its pinned Files, and
// every two successful builds must agree on everything not ignored.
func Judge(c Case, outcomes map[string]Outcome) []Verdict {
	names := sortedKeys(outcomes)
	verdicts := map[string]*Verdict{}
	for _, n := range names {
		v := &Verdict{Case: c.Name, Builder: n, Known: c.Known[n].Reason}
		verdicts[n] = v
		o := outcomes[n]
		switch {
		case c.Known[n].Skip:
		case c.Fail && o.Err == nil:
			v.Problems = append(v.Problems, "the build succeeded; Docker rejects it")
		case !c.Fail && o.Err != nil:
			v.Problems = append(v.Problems, o.Err.Error())
		case o.Err == nil:
			v.Problems = append(v.Problems, o.Snapshot.Check(withoutIgnored(c.Files, c.Known[n].Ignore))...)
			v.Problems = append(v.Problems, o.Snapshot.CheckConfig(withoutIgnored(c.Config, c.Known[n].Ignore))...)
		}
	}
	for i, a := range names {
		for _, b := range names[i+1:] {
			oa, ob := outcomes[a], outcomes[b]
			if c.Fail || oa.Err != nil || ob.Err != nil || c.Known[a].Skip || c.Known[b].Skip {
				continue
			}
			ignore := append(append([]string(nil), c.Known[a].Ignore...), c.Known[b].Ignore...)
			diff := Diff(oa.Snapshot, ob.Snapshot, ignore)
			if len(diff) == 0 {
				continue
			}
			msg := fmt.Sprintf("%s ≠ %s:\n      %s", a, b, strings.Join(diff, "\n      "))
			verdicts[a].Problems = append(verdicts[a].Problems, msg)
			verdicts[b].Problems = append(verdicts[b].Problems, msg)
		}
	}
	out := make([]Verdict, 0, len(names))
	for _, n := range names {
		v := verdicts[n]
		v.Pass = len(v.Problems) == 0
		out = append(out, *v)
	}
	return out
}

// withoutIgnored drops the checks of paths a known difference ignores.
func withoutIgnored[V any](files map[string]V, ignore []string) map[string]V {
	out := map[string]V{}
	for p, fc := range files {
		if !ignored(p, ignore) {
			out[p] = fc
		}
	}
	return out
}

// Tally counts verdicts per implementation; it is safe for concurrent use.
type Tally struct {
	mu       sync.Mutex
	verdicts []Verdict
}

// Add records verdicts.
func (t *Tally) Add(vs ...Verdict) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.verdicts = append(t.verdicts, vs...)
}

// Summary prints "NAME: N passed, M failed (K with documented differences)"
// per implementation, then the failed cases.
func (t *Tally) Summary() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	type count struct{ pass, fail, known int }
	counts := map[string]*count{}
	var failed []string
	for _, v := range t.verdicts {
		c := counts[v.Builder]
		if c == nil {
			c = &count{}
			counts[v.Builder] = c
		}
		switch {
		case !v.Pass:
			c.fail++
			failed = append(failed, v.Builder+"/"+v.Case)
		case v.Known != "":
			c.pass++
			c.known++
		default:
			c.pass++
		}
	}
	var b strings.Builder
	for _, n := range sortedKeys(counts) {
		c := counts[n]
		fmt.Fprintf(&b, "%s: %d passed, %d failed (%d passed with a documented difference)\n", n, c.pass, c.fail, c.known)
	}
	sort.Strings(failed)
	if len(failed) > 0 {
		fmt.Fprintf(&b, "failed: %s\n", strings.Join(failed, " "))
	}
	return b.String()
}

// IsBuildError reports whether err is a failed build (as opposed to a
// harness problem such as an unreadable export).
func IsBuildError(err error) bool {
	var be *BuildError
	return errors.As(err, &be)
}
