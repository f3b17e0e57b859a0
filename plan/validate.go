package plan

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// ValidationError is a plan that breaks an invariant. Front-ends should
// never produce one; it points at the step when there is one.
type ValidationError struct {
	Stage int
	Step  int // -1 when the error is about the stage itself
	Pos   Pos
	Msg   string
}

func (e *ValidationError) Error() string {
	where := fmt.Sprintf("stage %d", e.Stage)
	if e.Step >= 0 {
		where += fmt.Sprintf(" step %d", e.Step)
	}
	if e.Pos.File != "" || e.Pos.Line > 0 {
		where = fmt.Sprintf("%s:%d (%s)", e.Pos.File, e.Pos.Line, where)
	}
	return "invalid plan: " + where + ": " + e.Msg
}

// Validate checks the graph's invariants: a target that exists, stage
// references that point backwards (so the graph is acyclic), exactly one
// variant per step, and well-formed mounts. It returns every problem found,
// joined.
func (g *Graph) Validate() error {
	var errs []error
	if len(g.Stages) == 0 {
		return errors.New("invalid plan: no stages")
	}
	if g.Target < 0 || g.Target >= len(g.Stages) {
		errs = append(errs, fmt.Errorf("invalid plan: target %d out of range (%d stages)", g.Target, len(g.Stages)))
	}
	names := map[string]int{}
	for i := range g.Stages {
		st := &g.Stages[i]
		bad := func(step int, pos Pos, format string, a ...any) {
			errs = append(errs, &ValidationError{Stage: i, Step: step, Pos: pos, Msg: fmt.Sprintf(format, a...)})
		}
		if st.Index != i {
			bad(-1, st.Pos, "index %d does not match position %d", st.Index, i)
		}
		if st.Name != "" {
			if j, dup := names[st.Name]; dup {
				bad(-1, st.Pos, "stage name %q already used by stage %d", st.Name, j)
			}
			names[st.Name] = i
		}
		if st.Platform.OS == "" || st.Platform.Architecture == "" {
			bad(-1, st.Pos, "platform %q is incomplete", st.Platform.String())
		}
		switch st.Base.Kind {
		case BaseImage, BaseOCILayout:
			if st.Base.Ref == "" {
				bad(-1, st.Pos, "base of kind %s has no reference", st.Base.Kind)
			}
		case BaseScratch:
		case BaseStage:
			if st.Base.Stage < 0 || st.Base.Stage >= i {
				bad(-1, st.Pos, "base stage %d is not an earlier stage", st.Base.Stage)
			}
		default:
			bad(-1, st.Pos, "unknown base kind %q", st.Base.Kind)
		}
		for j := range st.Steps {
			s := &st.Steps[j]
			checkFrom := func(f From, what string) {
				switch f.Kind {
				case FromContext:
				case FromStage:
					if f.Stage < 0 || f.Stage >= i {
						bad(j, s.Pos, "%s refers to stage %d, which is not an earlier stage", what, f.Stage)
					}
				case FromImage:
					if f.Ref == "" {
						bad(j, s.Pos, "%s names no image", what)
					}
				default:
					bad(j, s.Pos, "%s has unknown kind %q", what, f.Kind)
				}
			}
			switch s.Kind() {
			case "":
				bad(j, s.Pos, "step must set exactly one of run, copy, add, config")
			case "run":
				if len(s.Run.Args) == 0 {
					bad(j, s.Pos, "run has no command")
				}
				for _, m := range s.Run.Mounts {
					if err := m.validate(); err != nil {
						bad(j, s.Pos, "%v", err)
					}
					checkFrom(m.From, "mount")
				}
				switch s.Run.Network {
				case "", "default", "none", "host":
				default:
					bad(j, s.Pos, "unknown network mode %q", s.Run.Network)
				}
				switch s.Run.Security {
				case "", "sandbox", "insecure":
				default:
					bad(j, s.Pos, "unknown security mode %q", s.Run.Security)
				}
			case "copy":
				checkFrom(s.Copy.From, "copy --from")
				if err := s.Copy.Transfer.validate(); err != nil {
					bad(j, s.Pos, "copy: %v", err)
				}
			case "add":
				if err := s.Add.Transfer.validate(); err != nil {
					bad(j, s.Pos, "add: %v", err)
				}
			case "config":
				if w := s.Config.Workdir; w != nil && !path.IsAbs(*w) && !isWindowsAbs(*w) {
					bad(j, s.Pos, "workdir %q is not absolute", *w)
				}
			}
		}
	}
	return errors.Join(errs...)
}

func (t *Transfer) validate() error {
	if t.Dest == "" {
		return errors.New("no destination")
	}
	if len(t.Sources) == 0 && len(t.Inline) == 0 {
		return errors.New("no sources")
	}
	return nil
}

func (m *Mount) validate() error {
	switch m.Type {
	case MountBind, MountCache, MountTmpfs:
		if m.Target == "" {
			return fmt.Errorf("%s mount has no target", m.Type)
		}
	case MountSecret, MountSSH:
		if m.Target == "" && m.Env == "" && m.ID == "" {
			return fmt.Errorf("%s mount needs an id, a target or an env", m.Type)
		}
	default:
		return fmt.Errorf("unknown mount type %q", m.Type)
	}
	switch m.Sharing {
	case "", SharingShared, SharingPrivate, SharingLocked:
	default:
		return fmt.Errorf("unknown cache sharing mode %q", m.Sharing)
	}
	return nil
}

// isWindowsAbs accepts C:\dir and C:/dir, which Windows stages use.
func isWindowsAbs(p string) bool {
	return len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/') &&
		strings.ContainsRune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", rune(p[0]))
}
