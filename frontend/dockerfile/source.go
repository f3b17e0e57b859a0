package dockerfile

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/zbuild/zbuild/plan"
)

// source keeps the Dockerfile's lines so that positions can carry a column
// and errors can quote the line; BuildKit's locations hold line numbers only.
type source struct {
	file  string
	lines []string
}

func newSource(file string, src []byte) *source {
	// The parser strips a byte-order mark and counts lines split on "\n".
	src = bytes.TrimPrefix(src, []byte{0xEF, 0xBB, 0xBF})
	lines := strings.Split(string(src), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return &source{file: file, lines: lines}
}

// line returns the text of 1-based line n, or "" when out of range.
func (s *source) line(n int) string {
	if n < 1 || n > len(s.lines) {
		return ""
	}
	return s.lines[n-1]
}

// span returns the first and last line of a BuildKit location.
func span(loc []parser.Range) (start, end int) {
	for i, r := range loc {
		if i == 0 || r.Start.Line < start {
			start = r.Start.Line
		}
		if r.End.Line > end {
			end = r.End.Line
		}
	}
	return start, end
}

// pos is the position of the instruction at loc: its first line, and the
// column where its keyword starts.
func (s *source) pos(loc []parser.Range) plan.Pos {
	start, end := span(loc)
	p := plan.Pos{File: s.file, Line: start}
	if start <= 0 {
		return plan.Pos{File: s.file}
	}
	if end > start {
		p.EndLine = end
	}
	if start <= len(s.lines) {
		text := s.line(start)
		p.Column = 1 + len(text) - len(strings.TrimLeft(text, " \t"))
	}
	return p
}

// find looks for needle in the lines of loc and returns the 1-based line
// and column of its first occurrence.
func (s *source) find(loc []parser.Range, needle string) (line, col int, ok bool) {
	if needle == "" {
		return 0, 0, false
	}
	start, end := span(loc)
	for n := start; n <= end && n >= 1; n++ {
		if i := strings.Index(s.line(n), needle); i >= 0 {
			return n, i + 1, true
		}
	}
	return 0, 0, false
}

// checkText rejects input that is not UTF-8 text. BuildKit's shell lexer
// turns invalid bytes into U+FFFD and prints a complaint to stderr for each
// one (text/scanner's default), which a library must not do.
func (c *converter) checkText(src []byte) error {
	src = bytes.TrimPrefix(src, []byte{0xEF, 0xBB, 0xBF})
	bad := bytes.IndexByte(src, 0)
	if !utf8.Valid(src) {
		for i := 0; i < len(src); {
			r, n := utf8.DecodeRune(src[i:])
			if r == utf8.RuneError && n <= 1 {
				if bad < 0 || i < bad {
					bad = i
				}
				break
			}
			i += n
		}
	}
	if bad < 0 {
		return nil
	}
	line := 1 + bytes.Count(src[:bad], []byte("\n"))
	col := 1 + bad - (bytes.LastIndexByte(src[:bad], '\n') + 1)
	return &Error{
		Pos:  plan.Pos{File: c.src.file, Line: line, Column: col},
		Line: strings.ToValidUTF8(strings.ReplaceAll(c.src.line(line), "\x00", "\\0"), "\uFFFD"),
		Msg:  "the Dockerfile is not UTF-8 text (invalid or NUL byte)",
		Hint: "save the Dockerfile as UTF-8",
	}
}
