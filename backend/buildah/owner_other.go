//go:build !unix

package buildah

import "errors"

func owner(string) (int, int, error) {
	return 0, 0, errors.New("file owners are not supported on this platform")
}
