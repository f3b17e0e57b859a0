package dockerfile

import (
	"maps"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/zbuild/zbuild/plan"
)

// proxyArgs are the build args BuildKit passes to every RUN when given with
// --build-arg, without an ARG declaring them (matched case-insensitively).
var proxyArgs = []string{"HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "ALL_PROXY"}

func isProxyArg(key string) bool {
	for _, p := range proxyArgs {
		if strings.EqualFold(key, p) {
			return true
		}
	}
	return false
}

// platformArgNames are the args BuildKit predefines in the global scope.
var platformArgNames = []string{
	"BUILDPLATFORM", "BUILDOS", "BUILDOSVERSION", "BUILDARCH", "BUILDVARIANT",
	"TARGETPLATFORM", "TARGETOS", "TARGETOSVERSION", "TARGETARCH", "TARGETVARIANT",
	"TARGETSTAGE",
}

// isPredefinedArg reports whether a --build-arg key is one the build knows
// without any ARG, so it is never reported as unused. SOURCE_DATE_EPOCH is
// read by the build itself (reproducible timestamps).
func isPredefinedArg(key string) bool {
	return isProxyArg(key) || slices.Contains(platformArgNames, key) || key == "SOURCE_DATE_EPOCH"
}

// predefinedArgs are the platform args of the global scope; --build-arg
// values override them, as in BuildKit.
func predefinedArgs(target, build plan.Platform, targetStage string, overrides map[string]string) envList {
	if targetStage == "" {
		targetStage = "default"
	}
	values := [][2]string{
		{"BUILDPLATFORM", build.String()},
		{"BUILDOS", build.OS},
		{"BUILDOSVERSION", ""},
		{"BUILDARCH", build.Architecture},
		{"BUILDVARIANT", build.Variant},
		{"TARGETPLATFORM", target.String()},
		{"TARGETOS", target.OS},
		{"TARGETOSVERSION", ""},
		{"TARGETARCH", target.Architecture},
		{"TARGETVARIANT", target.Variant},
		{"TARGETSTAGE", targetStage},
	}
	var env envList
	for _, kv := range values {
		v := kv[1]
		if o, ok := overrides[kv[0]]; ok {
			v = o
		}
		env.set(kv[0], v)
	}
	return env
}

// globalArg is an ARG declared before the first FROM.
type globalArg struct {
	// deps are the global args its default value referred to; using this
	// arg uses them too.
	deps map[string]struct{}
}

// metaArgs evaluates the global ARGs in order against env (the predefined
// args), --build-arg values (overrides) replacing defaults. It returns the
// global scope and every declared global ARG.
func (c *converter) metaArgs(env envList, cmds []instructions.ArgCommand, overrides map[string]string) (envList, map[string]globalArg, error) {
	env = env.clone()
	decls := map[string]globalArg{}
	for _, cmd := range cmds {
		for _, kv := range cmd.Args {
			var info globalArg
			var value *string
			if v, ok := overrides[kv.Key]; ok {
				value = &v
			} else if kv.Value != nil {
				res, err := c.shlex.ProcessWordWithMatches(*kv.Value, env)
				if err != nil {
					return nil, nil, c.errorAt(cmd.Location(), err)
				}
				value = &res.Result
				info.deps = res.Matched
				if _, self := info.deps[kv.Key]; self {
					// ARG A=${A}-x refers to the previous A: keep its deps.
					info.deps = maps.Clone(info.deps)
					delete(info.deps, kv.Key)
					maps.Copy(info.deps, decls[kv.Key].deps)
				}
			}
			if value != nil {
				env.set(kv.Key, *value)
			}
			decls[kv.Key] = info
		}
	}
	return env, decls, nil
}

// argDecl is an ARG in a stage's scope; value is nil when the ARG has no
// default, no --build-arg and no global value.
type argDecl struct {
	key   string
	value *string
}

// proxyBuildArgs are the proxy variables given with --build-arg, sorted.
func (c *converter) proxyBuildArgs() []plan.KV {
	var out []plan.KV
	for _, k := range slices.Sorted(maps.Keys(c.opts.BuildArgs)) {
		if isProxyArg(k) {
			out = append(out, plan.KV{Key: k, Value: c.opts.BuildArgs[k]})
		}
	}
	return out
}

// markUsed records that a built stage consumed arg key.
func (c *converter) markUsed(key string) {
	c.used[key] = struct{}{}
}

// unusedBuildArgs are the --build-arg keys that no ARG of a built stage,
// and no global ARG those stages used, consumed.
func (c *converter) unusedBuildArgs() []string {
	used := map[string]struct{}{}
	var mark func(k string)
	mark = func(k string) {
		if _, ok := used[k]; ok {
			return
		}
		used[k] = struct{}{}
		for d := range c.globalDecls[k].deps {
			mark(d)
		}
	}
	for k := range c.used {
		mark(k)
	}
	var out []string
	for k := range c.opts.BuildArgs {
		if _, ok := used[k]; !ok && !isPredefinedArg(k) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}
