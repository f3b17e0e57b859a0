//go:build linux

package linux

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
)

// sshProxy listens on a socket owned by the step's user and forwards each
// connection to the host's agent socket, so a non-root RUN can use an
// agent whose socket only its owner may open.
type sshProxy struct {
	ln     net.Listener
	dir    string
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// newSSHProxy creates the proxy socket in a short temporary dir (socket
// paths are limited to 108 bytes, worker roots can be deeper).
func newSSHProxy(agent string, uid, gid, mode uint32) (*sshProxy, string, error) {
	if _, err := os.Stat(agent); err != nil {
		return nil, "", fmt.Errorf("ssh agent socket: %w", err)
	}
	dir, err := os.MkdirTemp("", "zbuild-ssh-")
	if err != nil {
		return nil, "", fmt.Errorf("creating ssh proxy dir: %w", err)
	}
	sock := filepath.Join(dir, "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		os.RemoveAll(dir)
		return nil, "", fmt.Errorf("listening for ssh agent proxy: %w", err)
	}
	if mode == 0 {
		mode = 0o600
	}
	err = os.Lchown(sock, int(uid), int(gid))
	if err == nil {
		err = os.Chmod(sock, os.FileMode(mode&0o777))
	}
	if err != nil {
		ln.Close()
		os.RemoveAll(dir)
		return nil, "", fmt.Errorf("setting ssh socket ownership: %w", err)
	}
	p := &sshProxy{ln: ln, dir: dir, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve(agent)
	return p, sock, nil
}

func (p *sshProxy) serve(agent string) {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("unix", agent)
		if err != nil {
			c.Close()
			continue
		}
		if !p.track(c, up) {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			pipe(c, up)
			p.untrack(c, up)
		}()
	}
}

func pipe(a, b net.Conn) {
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) {
		io.Copy(dst, src)
		if uc, ok := dst.(*net.UnixConn); ok {
			uc.CloseWrite()
		}
		done <- struct{}{}
	}
	go cp(a, b)
	go cp(b, a)
	<-done
	<-done
	a.Close()
	b.Close()
}

func (p *sshProxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		for _, c := range cs {
			c.Close()
		}
		return false
	}
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *sshProxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.conns, c)
	}
}

// Close stops the proxy, cuts open connections and removes the socket.
func (p *sshProxy) Close() error {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	err := p.ln.Close()
	p.wg.Wait()
	if rerr := os.RemoveAll(p.dir); rerr != nil {
		err = errors.Join(err, rerr)
	}
	return err
}
