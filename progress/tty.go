package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
)

// TTY is the interactive terminal view: a live area with the running steps
// of every stage (spinner, timer, last lines of output) and pulls, above
// which finished steps are printed so the terminal's scrollback keeps the
// whole build after the view exits. Close prints the summary.
//
// Emit never blocks: events queue in a Buffered sink and reach the view in
// batches. The view reads no keyboard input and leaves signals alone, so
// Ctrl+C reaches the build as SIGINT, as without the view.
type TTY struct {
	w    io.Writer
	look look
	// profile is what the terminal shows of colours (none for NO_COLOR).
	// bubbletea downsamples the live area to it; lines printed above the
	// area and the summary are downsampled by paint.
	profile colorprofile.Profile
	prog    *tea.Program
	feed    *Buffered
	ran     chan error

	once sync.Once
	err  error
}

// NewTTY returns the view for w, which should be a terminal (os.Stderr).
// The view starts with the first events, so a build that fails before it
// starts draws nothing.
func NewTTY(w io.Writer) *TTY {
	t := &TTY{w: w, look: newLook(nil), profile: colorprofile.Detect(w, os.Environ()), ran: make(chan error, 1)}
	t.feed = newBatched(t.deliver)
	return t
}

// deliver hands a batch to the view, then prints the batch's finished steps
// above it. Both go through the program's one message queue, so the
// scrollback is in event order and complete before the view quits. It runs
// on the feed's goroutine only.
func (t *TTY) deliver(batch []Event) {
	var lines []string
	for _, e := range batch {
		if s := t.look.scrollback(e); s != "" {
			lines = append(lines, s)
		}
	}
	if t.prog == nil {
		t.start(batch, lines)
		return
	}
	t.prog.Send(eventsMsg(batch))
	if len(lines) > 0 {
		// tea.Println's message goes through Send, which, unlike
		// Program.Println, gives up once the program has exited.
		t.prog.Send(tea.Println(t.paint(strings.Join(lines, "\n")))())
	}
}

// start prints the first batch's lines (the build's start, warnings)
// itself and then starts the program below them: the live area then never
// begins at the screen's home position, where erasing it would make some
// terminals (tmux) copy every frame into the scrollback.
func (t *TTY) start(batch []Event, lines []string) {
	if len(lines) > 0 {
		io.WriteString(t.w, t.paint(strings.Join(lines, "\n")+"\n"))
	}
	m := newModel(t.look, time.Now())
	for _, e := range batch {
		m.apply(e)
	}
	t.prog = tea.NewProgram(m,
		tea.WithOutput(t.w),
		tea.WithInput(nil),
		tea.WithoutSignalHandler(),
		tea.WithoutCatchPanics(),
		tea.WithEnvironment(os.Environ()),
		tea.WithColorProfile(t.profile),
	)
	go func() {
		_, err := t.prog.Run()
		t.ran <- err
	}()
	// bubbletea sizes the live area at its first flush; a line printed
	// above it before then is placed as if the area filled the screen,
	// leaving a gap. Let the first frame out (flushes run at 60 per
	// second) before the next batch prints anything.
	select {
	case <-m.viewed:
		time.Sleep(firstFrameWait)
	case err := <-t.ran:
		t.ran <- err
	}
}

// firstFrameWait is two frames of bubbletea's default 60 fps renderer.
const firstFrameWait = 2 * time.Second / 60

// paint downsamples the colours of s to the terminal's profile.
func (t *TTY) paint(s string) string {
	var b strings.Builder
	cw := colorprofile.Writer{Forward: &b, Profile: t.profile}
	if _, err := cw.WriteString(s); err != nil {
		return ansi.Strip(s) // writing to a Builder fails only on bad escapes
	}
	return b.String()
}

// Emit queues e for the view.
func (t *TTY) Emit(e Event) { t.feed.Emit(e) }

// Close flushes the queued events, ends the view and, for a successful
// build (sum != nil), prints the summary below the build's log. Only the
// first call prints.
func (t *TTY) Close(sum *Summary) error {
	t.once.Do(func() { t.err = t.close(sum) })
	return t.err
}

func (t *TTY) close(sum *Summary) error {
	t.feed.Close()
	if t.prog != nil {
		t.prog.Send(finishMsg{})
		if err := <-t.ran; err != nil {
			return fmt.Errorf("running the terminal view: %w", err)
		}
	}
	if sum == nil {
		return nil
	}
	l := t.look
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", l.green.Render(l.ok), l.bold.Render("Built "+sum.Image))
	for _, line := range sum.Lines()[1:] {
		fmt.Fprintf(&b, "  %s\n", line)
	}
	if _, err := io.WriteString(t.w, t.paint(b.String())); err != nil {
		return fmt.Errorf("writing the build summary: %w", err)
	}
	return nil
}
