package dockerfile

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
)

func TestLint(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // "Rule line:column message"
	}{
		{"JSONArgsRecommended", "FROM alpine\nCMD echo hi\nENTRYPOINT echo\n", []string{
			"JSONArgsRecommended 2:1 JSON arguments recommended for CMD to prevent unintended behavior related to OS signals",
			"JSONArgsRecommended 3:1 JSON arguments recommended for ENTRYPOINT to prevent unintended behavior related to OS signals",
		}},
		{"JSONArgsRecommended not after SHELL", "FROM alpine\nSHELL [\"/bin/bash\", \"-c\"]\nCMD echo hi\n", nil},
		{"UndefinedVar in expanded instructions only", "FROM alpine\nRUN echo $FOO\nCOPY $SRC /x\nENV A=$HOMEE\n", []string{
			"UndefinedVar 3:1 Usage of undefined variable '$SRC'",
			"UndefinedVar 4:1 Usage of undefined variable '$HOMEE'",
		}},
		{"UndefinedVar suggests", "FROM alpine\nENV HOME=/root\nUSER $HOMEE\n", []string{
			"UndefinedVar 3:1 Usage of undefined variable '$HOMEE' (did you mean $HOME?)",
		}},
		{"UndefinedVar in heredoc, mounts and ARG defaults", "FROM alpine\nARG A=$UNSET1\nRUN --mount=type=cache,target=/c$UNSET2 true\nCOPY <<EOF /x\n$UNSET3\nEOF\n", []string{
			"UndefinedVar 2:1 Usage of undefined variable '$UNSET1'",
			"UndefinedVar 3:1 Usage of undefined variable '$UNSET2'",
			"UndefinedVar 4:1 Usage of undefined variable '$UNSET3'",
		}},
		{"declared args are defined even without a value", "FROM alpine\nARG FOO\nENV A=$FOO\n", nil},
		{"WorkdirRelativePath only for the first WORKDIR", "FROM alpine\nWORKDIR app\nWORKDIR more\n", []string{
			`WorkdirRelativePath 2:1 Relative workdir "app" can have unexpected results if the base image changes`,
		}},
		{"SecretsUsedInArgOrEnv", "FROM alpine\nARG GITHUB_TOKEN\nENV DB_PASSWORD=x PUBLIC_KEY=y AWS_SECRET_ACCESS_KEY=z KEYBOARD=us\n", []string{
			`SecretsUsedInArgOrEnv 2:1 Do not use ARG or ENV instructions for sensitive data (ARG "GITHUB_TOKEN")`,
			`SecretsUsedInArgOrEnv 3:1 Do not use ARG or ENV instructions for sensitive data (ENV "DB_PASSWORD")`,
			`SecretsUsedInArgOrEnv 3:1 Do not use ARG or ENV instructions for sensitive data (ENV "AWS_SECRET_ACCESS_KEY")`,
		}},
		{"ConsistentInstructionCasing upper majority", "FROM alpine\nrun echo\nRUN echo\n", []string{
			"ConsistentInstructionCasing 2:1 Command 'run' should match the case of the command majority (uppercase)",
		}},
		{"ConsistentInstructionCasing lower majority", "from alpine\nrun echo\nRUN echo\n", []string{
			"ConsistentInstructionCasing 3:1 Command 'RUN' should match the case of the command majority (lowercase)",
		}},
		{"ReservedStageName", "FROM alpine AS context\n", []string{
			`ReservedStageName 1:1 Stage name should not use the same name as reserved stage "context"`,
		}},
		{"UndefinedArgInFrom", "ARG VERSION=1\nFROM alpine:${VERSON:-3}\n", []string{
			"UndefinedArgInFrom 2:1 FROM argument 'VERSON' is not declared (did you mean VERSION?)",
		}},
		{"FromPlatformFlagConstDisallowed", "FROM --platform=linux/amd64 alpine\n", []string{
			`FromPlatformFlagConstDisallowed 1:1 FROM --platform flag should not use constant value "linux/amd64"`,
		}},
		{"constant platform allowed in a stage named after it", "FROM --platform=linux/amd64 alpine AS build-amd64\n", nil},
		{"RedundantTargetPlatform", "FROM --platform=$TARGETPLATFORM alpine\n", []string{
			"RedundantTargetPlatform 1:1 Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior",
		}},
		{"LegacyKeyValueFormat", "FROM alpine\nENV A b\nLABEL x y\n", []string{
			`LegacyKeyValueFormat 2:1 "ENV key=value" should be used instead of legacy "ENV key value" format`,
			`LegacyKeyValueFormat 3:1 "LABEL key=value" should be used instead of legacy "LABEL key value" format`,
		}},
		{"ExposeProtoCasing and ExposeInvalidFormat", "FROM alpine\nEXPOSE 80/TCP 127.0.0.1:8080:80\n", []string{
			"ExposeInvalidFormat 2:1 EXPOSE instruction should not define an IP address or host-port mapping, found '127.0.0.1:8080:80'",
			"ExposeProtoCasing 2:1 Defined protocol '80/TCP' in EXPOSE instruction should be lowercase",
		}},
		{"MultipleInstructionsDisallowed points at the ignored one", "FROM alpine\nCMD [\"a\"]\nCMD [\"b\"]\nHEALTHCHECK NONE\nHEALTHCHECK NONE\nENTRYPOINT [\"a\"]\nENTRYPOINT [\"b\"]\n", []string{
			"MultipleInstructionsDisallowed 2:1 Multiple CMD instructions should not be used in the same stage because only the last one will be used",
			"MultipleInstructionsDisallowed 4:1 Multiple HEALTHCHECK instructions should not be used in the same stage because only the last one will be used",
			"MultipleInstructionsDisallowed 6:1 Multiple ENTRYPOINT instructions should not be used in the same stage because only the last one will be used",
		}},
		{"MaintainerDeprecated", "FROM alpine\nMAINTAINER me\n", []string{
			"MaintainerDeprecated 2:1 Maintainer instruction is deprecated in favor of using label",
		}},
		{"StageNameCasing", "FROM alpine AS Build\n", []string{
			"StageNameCasing 1:1 Stage name 'Build' should be lowercase",
		}},
		{"FromAsCasing", "FROM alpine as build\n", []string{
			"FromAsCasing 1:1 'as' and 'FROM' keywords' casing do not match",
		}},
		{"NoEmptyContinuation", "FROM alpine\nRUN echo \\\n\n  hi\n", []string{
			"NoEmptyContinuation 4:3 Empty continuation line",
		}},
		{"stages the target does not need are not linted", "FROM alpine AS unused\nCMD echo $X\nFROM alpine\n", nil},
		{"check=skip directive", "# check=skip=JSONArgsRecommended,UndefinedVar\nFROM alpine\nCMD echo $X\nENV A=$Y\n", nil},
		{"check=skip=all", "# check=skip=all\nfrom alpine AS Build\nCMD echo\n", nil},
		{"check comment before one instruction", "FROM alpine\n# check=skip=UndefinedVar\nENV A=$Y\nENV B=$Z\n", []string{
			"UndefinedVar 4:1 Usage of undefined variable '$Z' (did you mean $A?)",
		}},
		{"SBOM args are never undefined", "FROM alpine\nENV A=$BUILDKIT_SBOM_SCAN_CONTEXT\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := convert(t, tt.src, Options{})
			var got []string
			for _, w := range res.Warnings {
				got = append(got, fmt.Sprintf("%s %d:%d %s", w.RuleName, w.Pos.Line, w.Pos.Column, w.Message))
				if w.Description == "" || w.Pos.File != "Dockerfile" {
					t.Errorf("warning %+v lacks a description or file", w)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("warnings:\n%q\nwant:\n%q", got, tt.want)
			}
		})
	}
}

// TestInvalidDefaultArgInFrom: a FROM that only a --build-arg makes valid
// converts, with a warning.
func TestInvalidDefaultArgInFrom(t *testing.T) {
	src := "ARG TAG\nFROM alpine${TAG:+:}${TAG}\nFROM busybox:${TAG}\n"
	res := convert(t, src, Options{BuildArgs: map[string]string{"TAG": "1"}})
	want := "Default value for ARG busybox:${TAG} results in empty or invalid base image name"
	if len(res.Warnings) != 1 || res.Warnings[0].RuleName != "InvalidDefaultArgInFrom" || res.Warnings[0].Message != want || res.Warnings[0].Pos.Line != 3 {
		t.Errorf("warnings %+v, want one InvalidDefaultArgInFrom at line 3", res.Warnings)
	}
}

// TestLintAsError checks `# check=error=true`: the warnings become an error,
// and the result still comes back so they can be shown.
func TestLintAsError(t *testing.T) {
	src := "# check=error=true\nFROM alpine\nCMD echo\nENV A=$UNSET\n"
	res, err := Convert(context.Background(), []byte(src), pinned(Options{BuildArgs: map[string]string{"UNUSED": "1"}}))
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v, want an *Error", err)
	}
	want := "Dockerfile:3:1: lint violation found for rules: JSONArgsRecommended, UndefinedVar, UnusedBuildArgs\n" +
		"   3 | CMD echo\n" +
		"  hint: fix the warnings, or relax the check directive (# check=error=false or # check=skip=Rule)"
	if e.Error() != want {
		t.Errorf("error:\n%s\nwant:\n%s", e.Error(), want)
	}
	if res == nil || len(res.Warnings) != 3 || res.Graph == nil {
		t.Fatalf("result %+v, want the graph and 3 warnings", res)
	}
	if _, err := Convert(context.Background(), []byte("# check=error=true\nFROM alpine\nCMD [\"x\"]\n"), pinned(Options{})); err != nil {
		t.Errorf("clean file with check=error=true: %v", err)
	}
}
