package build

import (
	"errors"
	"reflect"
	"testing"

	"github.com/zbuild/zbuild/plan"
)

func TestParseOutput(t *testing.T) {
	tests := []struct {
		in      string
		want    Output
		wantErr bool
	}{
		{in: "out", want: Output{Type: "local", Dest: "out"}},
		{in: "-", want: Output{Type: "tar", Dest: "-"}},
		{in: "type=oci,dest=img.tar", want: Output{Type: "oci", Dest: "img.tar", Attrs: map[string]string{}}},
		{in: "type=image,name=x/y:1,push=true", want: Output{Type: "image", Attrs: map[string]string{"name": "x/y:1", "push": "true"}}},
		{in: `type=local,"dest=a,b"`, want: Output{Type: "local", Dest: "a,b", Attrs: map[string]string{}}},
		{in: "type=oci", wantErr: true},
		{in: "type=s3,dest=x", wantErr: true},
		{in: "dest=x", wantErr: true},
		{in: "type=oci,dest", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseOutput(tt.in)
			if tt.wantErr {
				var ue *UsageError
				if !errors.As(err, &ue) {
					t.Fatalf("got %+v, %v; want a UsageError", got, err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseOutput(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseSecret(t *testing.T) {
	t.Setenv("ZB_TOKEN", "x")
	tests := []struct {
		in      string
		want    Secret
		wantErr bool
	}{
		{in: "id=npm,src=/home/me/.npmrc", want: Secret{ID: "npm", Src: "/home/me/.npmrc"}},
		{in: "id=tok,env=GH_TOKEN", want: Secret{ID: "tok", Env: "GH_TOKEN"}},
		{in: "id=ZB_TOKEN", want: Secret{ID: "ZB_TOKEN", Env: "ZB_TOKEN"}},
		{in: "id=cert", want: Secret{ID: "cert", Src: "cert"}},
		{in: "id=x,type=env,src=VAR", want: Secret{ID: "x", Env: "VAR"}},
		{in: "src=/x", wantErr: true},
		{in: "id=a,src=b,env=c", wantErr: true},
		{in: "id=a,colour=red", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSecret(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseSecret(%q) error = %v", tt.in, err)
			}
			if !tt.wantErr && got != tt.want {
				t.Fatalf("ParseSecret(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParsePlatformAndSSH(t *testing.T) {
	p, err := ParsePlatform("linux/arm64/v8")
	if err != nil || p != (plan.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}) {
		t.Fatalf("got %+v %v", p, err)
	}
	for _, bad := range []string{"linux", "/amd64", "a/b/c/d", ""} {
		if _, err := ParsePlatform(bad); err == nil {
			t.Errorf("ParsePlatform(%q) accepted", bad)
		}
	}
	s, err := ParseSSH("default")
	if err != nil || s.ID != "default" || s.Paths != nil {
		t.Fatalf("got %+v %v", s, err)
	}
	s, err = ParseSSH("gh=/a.sock,/b.key")
	if err != nil || !reflect.DeepEqual(s.Paths, []string{"/a.sock", "/b.key"}) {
		t.Fatalf("got %+v %v", s, err)
	}
	if _, err := ParseSSH("=x"); err == nil {
		t.Fatal("empty id accepted")
	}
}

func TestParseKeyValues(t *testing.T) {
	env := map[string]string{"FROM_ENV": "e"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	got, err := ParseKeyValues("--build-arg", []string{"A=1", "B=x=y", "C=", "FROM_ENV", "MISSING"}, lookup)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A": "1", "B": "x=y", "C": "", "FROM_ENV": "e"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if _, err := ParseKeyValues("--label", []string{"=v"}, nil); err == nil {
		t.Fatal("empty key accepted")
	}
}
