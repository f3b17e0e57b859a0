package dockerfile

import (
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/zbuild/zbuild/plan"
)

// envList is an ordered set of variables, the environment words are
// expanded against. It implements shell.EnvGetter. Keys compare as the
// shell lexer compares them (case-insensitively on Windows hosts).
type envList []plan.KV

var _ shell.EnvGetter = envList(nil)

// envFromSlice reads KEY=value entries; a later entry replaces an earlier
// one with the same key.
func envFromSlice(entries []string) envList {
	var e envList
	for _, kv := range entries {
		k, v, _ := strings.Cut(kv, "=")
		e.set(k, v)
	}
	return e
}

func (e envList) Get(key string) (string, bool) {
	for _, kv := range e {
		if shell.EqualEnvKeys(kv.Key, key) {
			return kv.Value, true
		}
	}
	return "", false
}

func (e envList) Keys() []string {
	keys := make([]string, len(e))
	for i, kv := range e {
		keys[i] = kv.Key
	}
	return keys
}

// set replaces the value of key, or appends it.
func (e *envList) set(key, value string) {
	for i, kv := range *e {
		if shell.EqualEnvKeys(kv.Key, key) {
			(*e)[i] = plan.KV{Key: key, Value: value}
			return
		}
	}
	*e = append(*e, plan.KV{Key: key, Value: value})
}

func (e envList) clone() envList {
	return append(envList(nil), e...)
}
