//go:build !unix

package buildah

import (
	"os"
	"time"
)

var terminate = os.Kill

const waitDelay = 10 * time.Second
