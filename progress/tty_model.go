package progress

import (
	"fmt"
	"strings"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// tailLines is how many of a running step's last output lines the view
// shows when the terminal is tall enough.
const tailLines = 3

// tickEvery is how often timers and the spinner redraw.
const tickEvery = 100 * time.Millisecond

type (
	// eventsMsg carries a batch of events from the feeder.
	eventsMsg []Event
	// tickMsg redraws timers.
	tickMsg time.Time
	// finishMsg ends the view: the build is over.
	finishMsg struct{}
)

// running is a step in progress: what the live area shows of it.
type running struct {
	ev    Event
	start time.Time
	tail  []string
}

// transfer is a base image pull in progress.
type transfer struct {
	key, line      string
	current, total int64
}

// model is the live area under the scrollback: running steps with their
// timers and last output lines, and pulls with their byte counts. Finished
// steps leave it; the feeder prints them above.
type model struct {
	look          look
	width, height int
	start, now    time.Time
	frame         int
	stages        int
	done, cached  int
	steps         []*running
	pulls         []*transfer
	finished      bool
	// viewed is closed once the program first asks for the view.
	viewed     chan struct{}
	viewedOnce sync.Once
}

func newModel(l look, now time.Time) *model {
	return &model{look: l, width: 80, height: 24, start: now, now: now, viewed: make(chan struct{})}
}

func tick() tea.Cmd {
	return tea.Tick(tickEvery, func(t time.Time) tea.Msg { return tickMsg(t) })
}

func (m *model) Init() tea.Cmd { return tick() }

func (m *model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
	case tickMsg:
		if m.finished {
			return m, nil
		}
		m.now = time.Time(msg)
		m.frame++
		return m, tick()
	case eventsMsg:
		for _, e := range msg {
			m.apply(e)
		}
	case finishMsg:
		m.finished = true
		return m, tea.Quit
	}
	return m, nil
}

// apply folds one event into the live state.
func (m *model) apply(e Event) {
	if !e.Time.IsZero() && e.Time.After(m.now) {
		m.now = e.Time
	}
	switch e.Kind {
	case BuildStarted:
		m.stages = e.Stages
		if !e.Time.IsZero() {
			m.start = e.Time
		}
	case StepStarted:
		r := &running{ev: e, start: e.Time}
		if e.Reason != "" {
			// Shown until the step's own output pushes it out.
			r.tail = []string{"not cached: " + clean(e.Reason)}
		}
		m.steps = append(m.steps, r)
	case StepOutput:
		if r := m.step(e.ID); r != nil {
			r.tail = append(r.tail, clean(e.Line))
			if len(r.tail) > tailLines {
				r.tail = r.tail[len(r.tail)-tailLines:]
			}
		}
	case StepDone, StepFailed, StepCached:
		if e.Kind == StepDone {
			m.done++
		}
		if e.Kind == StepCached {
			m.cached++
		}
		for i, r := range m.steps {
			if r.ev.ID == e.ID {
				m.steps = append(m.steps[:i], m.steps[i+1:]...)
				break
			}
		}
	case Pull, Push:
		m.pull(e)
	}
}

func (m *model) step(id int) *running {
	for _, r := range m.steps {
		if r.ev.ID == id {
			return r
		}
	}
	return nil
}

// pull tracks one base image transfer. The engine names the image in the
// line ("pulling REF", "pulled REF (…)"), so the reference is the key.
func (m *model) pull(e Event) {
	words := strings.Fields(e.Line)
	key := e.Text
	if key == "" && len(words) > 1 {
		key = words[1]
	}
	var t *transfer
	at := -1
	for i, p := range m.pulls {
		if p.key == key {
			t, at = p, i
		}
	}
	if len(words) > 0 && (words[0] == "pulled" || words[0] == "pushed") {
		if at >= 0 {
			m.pulls = append(m.pulls[:at], m.pulls[at+1:]...)
		}
		return
	}
	if t == nil {
		t = &transfer{key: key}
		m.pulls = append(m.pulls, t)
	}
	t.line, t.current, t.total = clean(e.Line), e.Current, e.Total
}

func (m *model) View() tea.View {
	m.viewedOnce.Do(func() { close(m.viewed) })
	if m.finished {
		return tea.NewView("")
	}
	return tea.NewView(strings.Join(m.lines(), "\n"))
}

// lines renders the live area to fit the terminal: every line is cut to
// the width, and output tails shrink, then steps fold into "and N more",
// when the height is short.
func (m *model) lines() []string {
	l := m.look
	width := max(m.width, 20)
	fit := func(s string) string { return ansi.Truncate(s, width, l.more) }
	spin := l.spinner[m.frame%len(l.spinner)]
	head := fmt.Sprintf("%s Building %s", l.bold.Render("[+]"), FormatDuration(m.now.Sub(m.start)))
	var counts []string
	if m.stages > 0 {
		counts = append(counts, fmt.Sprintf("%d stages", m.stages))
	}
	counts = append(counts, fmt.Sprintf("%d done", m.done))
	if m.cached > 0 {
		counts = append(counts, fmt.Sprintf("%d cached", m.cached))
	}
	out := []string{fit(head + l.faint.Render(" ("+strings.Join(counts, ", ")+")"))}

	room := max(m.height-1, 2) - len(out) - len(m.pulls)
	shown := len(m.steps)
	if shown > room {
		shown = max(room-1, 0)
	}
	tail := 0
	if shown > 0 {
		tail = min(tailLines, (room-shown)/shown)
	}
	for _, r := range m.steps[:shown] {
		timer := FormatDuration(m.now.Sub(r.start))
		left := fmt.Sprintf(" %s %s %s", l.blue.Render(spin), l.stage(r.ev), clean(r.ev.Title()))
		left = ansi.Truncate(left, max(width-len(timer)-1, 1), l.more)
		pad := max(width-ansi.StringWidth(left)-len(timer), 1)
		out = append(out, left+strings.Repeat(" ", pad)+l.faint.Render(timer))
		from := max(len(r.tail)-tail, 0)
		for _, line := range r.tail[from:] {
			out = append(out, fit(l.faint.Render("   "+l.rule+" "+line)))
		}
	}
	if n := len(m.steps) - shown; n > 0 {
		out = append(out, fit(l.faint.Render(fmt.Sprintf(" %s and %d more running", l.more, n))))
	}
	for _, p := range m.pulls {
		out = append(out, fit(fmt.Sprintf(" %s %s%s", l.blue.Render(l.pull), p.line, m.bar(p, width))))
	}
	return out
}

// bar draws a transfer's byte progress when its size is known.
func (m *model) bar(p *transfer, width int) string {
	if p.total <= 0 {
		return ""
	}
	frac := min(float64(p.current)/float64(p.total), 1)
	n := min(max(width/4, 10), 30)
	full := int(frac * float64(n))
	return fmt.Sprintf(" %s%s %s/%s", strings.Repeat(m.look.bar[0], full), strings.Repeat(m.look.bar[1], n-full), HumanSize(p.current), HumanSize(p.total))
}
