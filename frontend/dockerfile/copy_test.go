package dockerfile

import (
	"testing"
)

func TestCopyAdd(t *testing.T) {
	tests := []struct {
		name string
		src  string
		opts Options
		want string // JSON of the last step's Copy or Add
	}{
		{"copy from context", "FROM alpine\nCOPY a b /dst/\n", Options{},
			`{"from":{},"sources":["a","b"],"dest":"/dst/"}`},
		{"copy JSON form", "FROM alpine\nCOPY [\"a b\", \"/d st/\"]\n", Options{},
			`{"from":{},"sources":["a b"],"dest":"/d st/"}`},
		{"copy from stage by name, any case", "FROM alpine AS Build\nFROM alpine AS other\nFROM scratch\nCOPY --from=BUILD /out /\n", Options{},
			`{"from":{"kind":"stage"},"sources":["/out"],"dest":"/"}`},
		{"copy from stage index", "FROM alpine\nFROM alpine\nFROM scratch\nCOPY --from=1 /out /\n", Options{},
			`{"from":{"kind":"stage","stage":1},"sources":["/out"],"dest":"/"}`},
		{"copy from image", "FROM alpine\nCOPY --from=nginx:1.27 /etc/nginx/nginx.conf /etc/\n", Options{},
			`{"from":{"kind":"image","ref":"nginx:1.27"},"sources":["/etc/nginx/nginx.conf"],"dest":"/etc/"}`},
		{"copy every flag", "FROM alpine\nCOPY --chown=1000:1000 --chmod=0644 --link --parents --exclude=*.md --exclude=.git ./src/./pkg /app/\n", Options{},
			`{"from":{},"sources":["./src/./pkg"],"dest":"/app/","chown":"1000:1000","chmod":"0644","link":true,"parents":true,"exclude":["*.md",".git"]}`},
		{"symbolic chmod and chown by name", "FROM alpine\nCOPY --chown=app:app --chmod=u+rwx,go=rx run.sh /\n", Options{},
			`{"from":{},"sources":["run.sh"],"dest":"/","chown":"app:app","chmod":"u+rwx,go=rx"}`},
		{"copy expands variables", "FROM alpine\nARG APP=web\nENV DIR=/srv\nCOPY --chown=${APP} ${APP}/ $DIR/${APP}/\n", Options{},
			`{"from":{},"sources":["web/"],"dest":"/srv/web/","chown":"web"}`},
		{"copy heredoc is expanded", "FROM alpine\nARG V=1.2\nCOPY <<EOF /etc/version\nversion=$V\nEOF\n", Options{},
			`{"from":{},"inline":[{"name":"EOF","data":"version=1.2\n"}],"dest":"/etc/version"}`},
		{"copy heredoc with quoted delimiter is not", "FROM alpine\nARG V=1.2\nCOPY <<'EOF' /etc/version\nversion=$V\nEOF\n", Options{},
			`{"from":{},"inline":[{"name":"EOF","data":"version=$V\n"}],"dest":"/etc/version"}`},
		{"copy chomped heredocs and a file", "FROM alpine\nCOPY <<-A <<\"B\" c /dir/\n\ta\n\tA\nb\nB\n", Options{},
			`{"from":{},"sources":["c"],"inline":[{"name":"A","data":"a\n"},{"name":"B","data":"b\n"}],"dest":"/dir/"}`},
		{"add URL with checksum", "FROM alpine\nADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d https://example.com/x.tar.gz /x.tgz\n", Options{},
			`{"sources":["https://example.com/x.tar.gz"],"dest":"/x.tgz","checksum":"sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d"}`},
		{"add git with keep-git-dir", "FROM alpine\nADD --keep-git-dir=true https://github.com/moby/buildkit.git#v0.34.2 /src\n", Options{},
			`{"sources":["https://github.com/moby/buildkit.git#v0.34.2"],"dest":"/src","keepGitDir":true}`},
		{"add unpack false", "FROM alpine\nADD --unpack=false --chmod=755 --link --exclude=x app.tar.gz /opt/\n", Options{},
			`{"sources":["app.tar.gz"],"dest":"/opt/","chmod":"755","link":true,"exclude":["x"],"unpack":false}`},
		{"add unpack", "FROM alpine\nADD --unpack https://example.com/a.tar /opt/\n", Options{},
			`{"sources":["https://example.com/a.tar"],"dest":"/opt/","unpack":true}`},
		{"add heredoc", "FROM alpine\nADD <<EOF /hello\nhi $HOSTNAME\nEOF\n", Options{},
			`{"inline":[{"name":"EOF","data":"hi \n"}],"dest":"/hello"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			step := lastStep(t, tt.src, tt.opts)
			switch {
			case step.Copy != nil:
				assertJSON(t, step.Copy, tt.want)
			case step.Add != nil:
				assertJSON(t, step.Add, tt.want)
			default:
				t.Fatalf("last step %q is neither COPY nor ADD", step.Text)
			}
		})
	}
}
