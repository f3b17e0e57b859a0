package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// Needed returns, in source order, the indexes of the stages the target
// depends on (its base chain, COPY --from and mount sources), target included.
// Stages not listed need not be built.
func (g *Graph) Needed() []int {
	need := make([]bool, len(g.Stages))
	var visit func(i int)
	visit = func(i int) {
		if i < 0 || i >= len(g.Stages) || need[i] {
			return
		}
		need[i] = true
		for _, d := range g.Stages[i].Deps() {
			visit(d)
		}
	}
	visit(g.Target)
	var out []int
	for i, n := range need {
		if n {
			out = append(out, i)
		}
	}
	return out
}

// Deps returns the indexes of the stages s reads from directly, without
// duplicates, in first-use order.
func (s *Stage) Deps() []int {
	var out []int
	seen := map[int]bool{}
	add := func(i int) {
		if !seen[i] {
			seen[i] = true
			out = append(out, i)
		}
	}
	if s.Base.Kind == BaseStage {
		add(s.Base.Stage)
	}
	for _, st := range s.Steps {
		switch {
		case st.Copy != nil && st.Copy.From.Kind == FromStage:
			add(st.Copy.From.Stage)
		case st.Run != nil:
			for _, m := range st.Run.Mounts {
				if m.From.Kind == FromStage {
					add(m.From.Stage)
				}
			}
		}
	}
	return out
}

// Canonical returns the step's canonical encoding: JSON of its meaning
// only. Text and Pos are left out, so moving or reformatting an instruction
// does not change it; anything that changes what the step does does.
// encoding/json writes struct fields in declaration order and sorts map
// keys, so the bytes are stable for equal steps.
func (s Step) Canonical() []byte {
	s.Text, s.Pos = "", Pos{}
	b, err := json.Marshal(s)
	if err != nil {
		// Step holds only strings, numbers, bools, slices and pointers to them.
		panic("plan: encoding step: " + err.Error())
	}
	return b
}

// Digest is the hex sha256 of Canonical.
func (s Step) Digest() string {
	sum := sha256.Sum256(s.Canonical())
	return "sha256:" + hex.EncodeToString(sum[:])
}
