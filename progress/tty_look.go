package progress

import (
	"fmt"
	"image/color"
	"os"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// look is how the terminal view draws: its glyphs and colours. It is fixed
// when the view starts and shared, read-only, by the view and its feeder.
// Colours are always written; the renderer (bubbletea, lipgloss.Fprint)
// downsamples them to what the terminal supports and drops them for NO_COLOR.
type look struct {
	spinner                            []string
	ok, failed, warn, pull, more, rule string
	bar                                [2]string // full, empty

	faint, bold, green, red, yellow, blue lipgloss.Style
	stages                                []lipgloss.Style
}

// newLook picks UTF-8 or ASCII glyphs from the locale in env (os.Getenv
// when nil is given).
func newLook(getenv func(string) string) look {
	if getenv == nil {
		getenv = os.Getenv
	}
	l := look{
		faint:  lipgloss.NewStyle().Faint(true),
		bold:   lipgloss.NewStyle().Bold(true),
		green:  lipgloss.NewStyle().Foreground(lipgloss.Green),
		red:    lipgloss.NewStyle().Foreground(lipgloss.Red).Bold(true),
		yellow: lipgloss.NewStyle().Foreground(lipgloss.Yellow),
		blue:   lipgloss.NewStyle().Foreground(lipgloss.Blue),
	}
	// Parallel stages get distinct colours so their interleaved lines read
	// apart; the palette avoids the status colours (green, red, yellow).
	for _, c := range []color.Color{lipgloss.Cyan, lipgloss.Magenta, lipgloss.Blue, lipgloss.BrightCyan, lipgloss.BrightMagenta, lipgloss.BrightBlue} {
		l.stages = append(l.stages, lipgloss.NewStyle().Foreground(c))
	}
	if utf8Locale(getenv) {
		l.spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}
		l.ok, l.failed, l.warn, l.pull, l.more, l.rule = "✔", "✘", "!", "↓", "…", "│"
		l.bar = [2]string{"█", "░"}
	} else {
		l.spinner = []string{"|", "/", "-", "\\"}
		l.ok, l.failed, l.warn, l.pull, l.more, l.rule = "+", "x", "!", "v", "...", "|"
		l.bar = [2]string{"#", "-"}
	}
	return l
}

// utf8Locale reports whether the locale allows UTF-8 output. An unset
// locale counts as UTF-8, as every current terminal is; an explicit
// non-UTF-8 one (LANG=C) gets ASCII.
func utf8Locale(getenv func(string) string) bool {
	for _, k := range []string{"LC_ALL", "LC_CTYPE", "LANG"} {
		if v := getenv(k); v != "" {
			v = strings.ToLower(v)
			return strings.Contains(v, "utf-8") || strings.Contains(v, "utf8")
		}
	}
	return true
}

// stage styles a step label with its stage's colour.
func (l look) stage(e Event) string {
	return l.stages[e.Stage%len(l.stages)].Render(e.Label())
}

// scrollback is the line an event leaves in the terminal's scrollback once
// the live view has moved on, or "" for none. It depends on the event
// alone, so the feeder can print it in order with the view's updates.
func (l look) scrollback(e Event) string {
	switch e.Kind {
	case StepDone:
		tail := FormatDuration(e.Duration)
		if e.Size > 0 {
			tail += " " + HumanSize(e.Size)
		}
		return fmt.Sprintf("%s %s %s %s", l.green.Render(l.ok), l.stage(e), clean(e.Title()), l.faint.Render(tail))
	case StepCached:
		return fmt.Sprintf("%s %s %s %s", l.blue.Render(l.ok), l.stage(e), clean(e.Title()), l.blue.Render("CACHED"))
	case StepFailed:
		return fmt.Sprintf("%s %s %s %s", l.red.Render(l.failed), l.stage(e), clean(e.Title()), l.red.Render("ERROR: "+clean(e.Error)))
	case BuildStarted:
		return l.bold.Render("[+]") + fmt.Sprintf(" building %d %s", e.Stages, plural(e.Stages, "stage"))
	case Warning:
		return l.yellow.Render(l.warn + " WARNING: " + clean(e.Line))
	case Info:
		return clean(e.Line)
	case Pull:
		if e.Total == 0 && e.Line != "" && !strings.HasPrefix(e.Line, "pulling ") {
			return l.faint.Render(l.pull + " " + clean(e.Line))
		}
	}
	return ""
}

// clean makes a line of step output safe to draw inside the view: escape
// sequences (colours, cursor moves) and control characters would corrupt
// it, and a carriage return means the program redrew the line, so only
// what follows the last one is shown.
func clean(s string) string {
	s = ansi.Strip(s)
	s = strings.TrimRight(s, "\r\n")
	if i := strings.LastIndexByte(s, '\r'); i >= 0 {
		s = s[i+1:]
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t':
			return ' '
		case r < 0x20 || r == 0x7f:
			return -1
		}
		return r
	}, s)
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
