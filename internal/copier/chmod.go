package copier

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"
)

// Mode bits in Unix layout (0o7777), which is what chmod(2) and --chmod use;
// io/fs keeps the special bits elsewhere, so conversions go through these.
const (
	bitSetuid = 0o4000
	bitSetgid = 0o2000
	bitSticky = 0o1000
)

// Mode is a parsed --chmod value: either an octal mode that replaces the
// source mode, or chmod(1) symbolic clauses ("u+x,g-w", "a+X") applied to it.
type Mode struct {
	octal   bool
	bits    uint32 // the octal mode, Unix layout
	clauses []clause
}

type clause struct {
	who uint32 // rwx bits the clause touches (0o777 when no who was given)
	u   bool   // who names the user class (setuid may change)
	g   bool   // who names the group class (setgid may change)
	any bool   // no who letters: every class, as with umask 0
	ops []modeOp
}

type modeOp struct {
	op   byte   // '+', '-' or '='
	rwx  uint32 // r, w and x as 0o444, 0o222, 0o111
	bigX bool   // X: execute only for directories or already-executable files
	from byte   // 'u', 'g' or 'o': copy that class's current bits
	s, t bool
}

// errOctal is BuildKit's message for a value that looks numeric but is not a
// valid octal mode; users see the same text as with docker build.
func errOctal(s string) error {
	return fmt.Errorf("invalid chmod parameter: '%s'. it should be octal string and between 0 and 07777", s)
}

// ParseMode parses a --chmod value. An empty string is an error: callers
// skip chmod handling altogether when the flag is absent.
func ParseMode(s string) (*Mode, error) {
	if s == "" {
		return nil, errors.New("invalid chmod parameter: empty")
	}
	if n, err := strconv.ParseUint(s, 8, 32); err == nil {
		if n > 0o7777 {
			return nil, errOctal(s)
		}
		return &Mode{octal: true, bits: uint32(n)}, nil
	}
	m, err := parseSymbolic(s)
	if err != nil {
		if s[0] >= '0' && s[0] <= '9' {
			return nil, errOctal(s)
		}
		return nil, fmt.Errorf("invalid chmod parameter %q: %w", s, err)
	}
	return m, nil
}

func parseSymbolic(s string) (*Mode, error) {
	m := &Mode{}
	i := 0
	for {
		var c clause
		for ; i < len(s); i++ {
			switch s[i] {
			case 'u':
				c.who |= 0o700
				c.u = true
			case 'g':
				c.who |= 0o070
				c.g = true
			case 'o':
				c.who |= 0o007
			case 'a':
				c.who |= 0o777
				c.u, c.g = true, true
			default:
				goto ops
			}
		}
	ops:
		if c.who == 0 {
			c.who, c.u, c.g, c.any = 0o777, true, true, true
		}
		for i < len(s) && s[i] != ',' {
			o := modeOp{op: s[i]}
			if o.op != '+' && o.op != '-' && o.op != '=' {
				return nil, fmt.Errorf("unexpected %q at offset %d: want an operator (+, - or =)", s[i], i)
			}
			i++
		perms:
			for ; i < len(s); i++ {
				if o.from != 0 && s[i] != ',' && s[i] != '+' && s[i] != '-' && s[i] != '=' {
					return nil, fmt.Errorf("unexpected %q at offset %d: a class to copy from stands alone", s[i], i)
				}
				switch s[i] {
				case 'r':
					o.rwx |= 0o444
				case 'w':
					o.rwx |= 0o222
				case 'x':
					o.rwx |= 0o111
				case 'X':
					o.bigX = true
				case 's':
					o.s = true
				case 't':
					o.t = true
				case 'u', 'g', 'o':
					if o.rwx != 0 || o.bigX || o.s || o.t || o.from != 0 {
						return nil, fmt.Errorf("unexpected %q at offset %d: a class to copy from stands alone", s[i], i)
					}
					o.from = s[i]
				default:
					break perms
				}
			}
			c.ops = append(c.ops, o)
		}
		if len(c.ops) == 0 {
			return nil, fmt.Errorf("clause without an operator at offset %d", i)
		}
		m.clauses = append(m.clauses, c)
		if i == len(s) {
			return m, nil
		}
		i++ // the comma
		if i == len(s) {
			return nil, errors.New("trailing comma")
		}
	}
}

// Apply returns mode changed as chmod(1) would with a zero umask. Octal
// modes replace the permission and special bits; the type bits are kept.
func (m *Mode) Apply(mode fs.FileMode) fs.FileMode {
	if m.octal {
		return fromUnix(mode, m.bits)
	}
	orig := toUnix(mode)
	cur := orig
	for _, c := range m.clauses {
		for _, o := range c.ops {
			bits := o.rwx
			if o.bigX && (o.op == '-' || mode.IsDir() || orig&0o111 != 0) {
				bits |= 0o111
			}
			if o.from != 0 {
				v := (cur >> classShift(o.from)) & 7
				bits |= v<<6 | v<<3 | v
			}
			bits &= c.who
			// As in BSD's setmode (which BuildKit uses), s only touches the
			// user and group classes and t needs more than "o".
			var special, clear uint32
			if c.u {
				clear |= bitSetuid
				if o.s {
					special |= bitSetuid
				}
			}
			if c.g {
				clear |= bitSetgid
				if o.s {
					special |= bitSetgid
				}
			}
			if o.t && (c.any || c.u || c.g) {
				special |= bitSticky
				clear |= bitSticky
			}
			switch o.op {
			case '+':
				cur |= bits | special
			case '-':
				cur &^= bits | special
			case '=':
				cur &^= c.who | clear
				cur |= bits | special
			}
		}
	}
	return fromUnix(mode, cur)
}

// dirPerm is the mode of destination parents that Copy creates: an octal
// --chmod applies to them too (BuildKit passes it to MkdirAll), anything else
// gives 0755.
func (m *Mode) dirPerm() fs.FileMode {
	if m != nil && m.octal {
		return fromUnix(fs.ModeDir, m.bits)
	}
	return fs.ModeDir | 0o755
}

func classShift(class byte) uint {
	switch class {
	case 'u':
		return 6
	case 'g':
		return 3
	}
	return 0
}

func toUnix(mode fs.FileMode) uint32 {
	u := uint32(mode.Perm())
	if mode&fs.ModeSetuid != 0 {
		u |= bitSetuid
	}
	if mode&fs.ModeSetgid != 0 {
		u |= bitSetgid
	}
	if mode&fs.ModeSticky != 0 {
		u |= bitSticky
	}
	return u
}

// fromUnix replaces the permission and special bits of typ with u.
func fromUnix(typ fs.FileMode, u uint32) fs.FileMode {
	m := typ.Type() | fs.FileMode(u&0o777)
	if u&bitSetuid != 0 {
		m |= fs.ModeSetuid
	}
	if u&bitSetgid != 0 {
		m |= fs.ModeSetgid
	}
	if u&bitSticky != 0 {
		m |= fs.ModeSticky
	}
	return m
}
