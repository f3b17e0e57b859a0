//go:build !linux

package layer

import (
	"context"
	"errors"
	"io"
	"time"
)

func writeTar(ctx context.Context, upperDir string, w io.Writer, epoch *time.Time) error {
	return errors.New("writing a layer from an overlay upper dir is only supported on Linux")
}
